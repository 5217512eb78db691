"""The Lambda functions: each one's package, handler, network, access, schedules (seeds quoted)
and limits. Checked against the function packages on main by
tests/infra/test_catalog_matches_functions.py."""

from __future__ import annotations

from dataclasses import dataclass

from infra.catalog.access import Access, Network


@dataclass(frozen=True, slots=True)
class Function:
    """One Lambda function: ``name`` is its suffix (``edge-<stack>-<name>``)."""

    name: str
    package: str  # functions/<package>/, built to dist/functions/<package>.zip
    handler: str  # module.attribute inside the artifact
    network: Network
    access: tuple[Access, ...] = ()
    schedules: tuple[str, ...] = ()  # EventBridge expressions (UTC)
    timeout_s: int = 60
    memory_mb: int = 512
    # 1 where two runs must not overlap (a backup, a rotation, a runbook acting on one alarm);
    # None leaves the account's pool (the fan-out must never queue an alert behind another).
    concurrency: int | None = 1
    seed: str = ""  # where the schedule comes from
    env: tuple[tuple[str, str], ...] = ()  # fixed settings (EDGE_OPS_...)
    # The settings class its handler loads ("module:Class"); tests/infra builds it from the
    # environment the program sets, so every required setting is set and every name is read.
    settings: str = ""


# The functions not on main yet (names declared, handlers guessed from their issue); every
# other package's entries are checked against its code
# (tests/infra/test_catalog_matches_functions.py).
PENDING: frozenset[str] = frozenset()

_BACKUP = "functions.backup.ops:BackupSettings"
_REPORT = "functions.report.settings:ReportSettings"
_ROTATION = "functions.rotation.settings:RotationSettings"
_RUNBOOK_SETTINGS = "functions.runbook.settings:RunbookSettings"
_RUNBOOK = (Access.RUNBOOK_LOCKS, Access.ALARM_STATE, Access.NOTIFY, Access.INCIDENTS_RW)

FUNCTIONS: tuple[Function, ...] = (
    Function(
        "backup",
        "backup",
        "functions.backup.handler.backup",
        Network.VPC,
        (Access.BACKUPS_RW, Access.DB_SECRET, Access.NOTIFY),
        ("cron(0 2 * * ? *)",),
        timeout_s=900,
        memory_mb=1024,
        seed="002: daily full backup at 2:00 AM UTC",
        settings=_BACKUP,
    ),
    Function(
        "backup-retention",
        "backup",
        "functions.backup.handler.retention",
        Network.PUBLIC,
        (Access.BACKUPS_RW,),
        ("cron(30 3 * * ? *)",),
        timeout_s=600,
        seed="001 backup.sh: daily 30 / weekly 90 / monthly 365 days, after the backup",
        settings=_BACKUP,
    ),
    Function(
        "backup-verify",
        "backup",
        "functions.backup.handler.verify",
        Network.VPC,
        (Access.BACKUPS_RW, Access.DB_SECRET),
        ("cron(0 4 ? * MON *)",),
        timeout_s=900,
        memory_mb=1024,
        seed="001: backup verification every Monday",
        settings=_BACKUP,
    ),
    Function(
        "backup-drill",
        "backup",
        "functions.backup.handler.drill",
        Network.VPC,
        (Access.BACKUPS_RW, Access.DB_SECRET),
        ("cron(0 5 15 * ? *)",),
        timeout_s=900,
        memory_mb=1024,
        seed="001: disaster-recovery drill on the 15th of the month",
        settings=_BACKUP,
    ),
    Function(
        "report-daily",
        "report",
        "functions.report.handler.daily",
        Network.VPC,
        (Access.REPORTS_RW, Access.DB_SECRET, Access.NOTIFY),
        ("cron(15 0 * * ? *)",),
        timeout_s=300,
        memory_mb=1024,
        seed="003/004: daily performance report",
        settings=_REPORT,
    ),
    Function(
        "report-weekly",
        "report",
        "functions.report.handler.weekly",
        Network.VPC,
        (Access.REPORTS_RW, Access.DB_SECRET, Access.NOTIFY),
        ("cron(0 6 ? * FRI *)",),
        timeout_s=600,
        memory_mb=1024,
        seed="001/002: weekly performance report every Friday (the last complete ISO week)",
        settings=_REPORT,
    ),
    Function(
        "report-monthly",
        "report",
        "functions.report.handler.monthly",
        Network.VPC,
        (Access.REPORTS_RW, Access.DB_SECRET, Access.NOTIFY),
        ("cron(45 0 1 * ? *)",),
        timeout_s=900,
        memory_mb=1536,
        seed="004: monthly reports (the month before, on the 1st)",
        settings=_REPORT,
    ),
    Function(
        "prune",
        "prune",
        "functions.prune.handler.handler",
        Network.VPC,
        (Access.ARCHIVE_RW, Access.DB_SECRET),
        ("cron(0 23 * * ? *)",),
        timeout_s=900,
        memory_mb=1024,
        seed="001: database maintenance daily at 11 PM (data older than 90 days)",
        settings="functions.prune.settings:PruneSettings",
    ),
    Function(
        "probe",
        "probe",
        "functions.probe.handler.handler",
        Network.VPC,
        (Access.PROBE_NODE, Access.RPC_KEYS, Access.BACKUPS_RO),
        ("rate(1 minute)",),
        timeout_s=50,
        memory_mb=256,
        seed="issue 9: health probes every minute (000: health check, price age)",
        settings="functions.probe.settings:ProbeSettings",
    ),
    Function(
        "fanout",
        "fanout",
        "functions.fanout.handler.handler",
        Network.PUBLIC,
        (Access.ALERT_SECRET, Access.ALERT_TABLE, Access.ALERT_DLQ, Access.ALERT_EMAIL),
        timeout_s=120,
        memory_mb=256,
        concurrency=None,
        settings="functions.fanout.wiring:FanoutSettings",
    ),
    Function(
        "rotate-api-token",
        "rotation",
        "functions.rotation.handler.api_token",
        Network.VPC,
        (Access.ROTATE_TOKEN,),
        timeout_s=120,
        memory_mb=256,
        settings=_ROTATION,
        seed="002: inter-service tokens every 90 days (Secrets Manager's rotation schedule)",
    ),
    Function(
        "rotate-database",
        "rotation",
        "functions.rotation.handler.database",
        Network.VPC,
        (Access.ROTATE_DB, Access.DB_ADMIN_SECRET),
        timeout_s=120,
        memory_mb=256,
        settings=_ROTATION,
        seed="002: database passwords every 90 days (Secrets Manager's rotation schedule)",
    ),
    Function(
        "secret-age",
        "rotation",
        "functions.rotation.handler.secret_age",
        Network.PUBLIC,
        (Access.SECRET_AGE, Access.NOTIFY),
        ("cron(0 8 * * ? *)",),
        timeout_s=60,
        memory_mb=256,
        settings=_ROTATION,
        seed="002: API keys every 180 days (RPC keys are rotated by hand: a daily age check)",
    ),
    Function(
        "runbook-pause-trading",
        "runbook",
        "functions.runbook.handler.pause_trading",
        Network.VPC,
        (Access.API_TOKEN, Access.STOP_FLAG, Access.DB_SECRET, *_RUNBOOK),
        timeout_s=120,
        memory_mb=256,
        settings=_RUNBOOK_SETTINGS,
    ),
    Function(
        "runbook-emergency-stop",
        "runbook",
        "functions.runbook.handler.emergency_stop",
        Network.VPC,
        (Access.API_TOKEN, Access.STOP_FLAG, Access.DB_SECRET, *_RUNBOOK),
        timeout_s=120,
        memory_mb=256,
        settings=_RUNBOOK_SETTINGS,
    ),
    Function(
        "runbook-node-down",
        "runbook",
        "functions.runbook.handler.node_down",
        Network.VPC,
        (Access.API_TOKEN, Access.RUN_COMMAND, Access.DB_SECRET, *_RUNBOOK),
        timeout_s=300,
        memory_mb=256,
        settings=_RUNBOOK_SETTINGS,
    ),
    Function(
        "runbook-prune",
        "runbook",
        "functions.runbook.handler.prune",
        Network.VPC,
        (Access.DB_SECRET, Access.ARCHIVE_RW, *_RUNBOOK),
        timeout_s=900,
        memory_mb=1024,
        settings=_RUNBOOK_SETTINGS,
    ),
)


def function(name: str) -> Function:
    for f in FUNCTIONS:
        if f.name == name:
            return f
    raise KeyError(name)
