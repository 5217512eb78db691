"""What the estate runs, when, and what it alarms on: one table the program and its tests read.

Pure data, no Pulumi import. The schedules and thresholds come from the seeds
(/work/shared/seeds, quoted by number: 000 market-maker manual, 001 production manual, 002
operations manual, 003 paper-trading runbooks, 004 JIT runbook); metric names from what
``functions/`` publishes (EMF, namespace ``EdgeOps``, dimension ``service`` = the function's
package), or, for the functions not built yet, the names declared here (see ``PENDING``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

NAMESPACE = "EdgeOps"  # functions/common/observability.py
HOST_NAMESPACE = "EdgeNode/Host"  # the CloudWatch agent on the edge host (memory, disk)


class Severity(enum.StrEnum):
    """The fan-out's four severities (functions/fanout/routing.py); one SNS topic each."""

    CRITICAL = "critical"  # S1/P0: pages (PagerDuty), Slack, Telegram
    HIGH = "high"  # S2/P1, Prometheus "warning": Slack, Telegram
    MEDIUM = "medium"  # S3/P2: Slack
    LOW = "low"  # S4/P3, "info", reports: Slack, e-mail


# --- functions ------------------------------------------------------------------------------


class Network(enum.StrEnum):
    PUBLIC = "public"  # outside the VPC: AWS APIs and the internet only
    VPC = "vpc"  # private subnets: reaches the database and the edge host's API


class Access(enum.StrEnum):
    """What a function may touch; the functions component turns each into IAM statements."""

    BACKUPS_RW = "backups-rw"  # the backups bucket: read, write, delete (retention)
    BACKUPS_RO = "backups-ro"
    # the reports bucket, one prefix each: reports, prune's archives, runbooks' incidents
    REPORTS_RW = "reports-rw"
    ARCHIVE_RW = "archive-rw"
    INCIDENTS_RW = "incidents-rw"
    DB_SECRET = "db-secret"  # read the database credentials
    API_TOKEN = "api-token"  # read the node's API token (the runbooks' settings names)
    PROBE_NODE = "probe-node"  # the same token, with the probe's settings names and node name
    RPC_KEYS = "rpc-keys"  # read the RPC endpoints (URLs carry keys)
    ALERT_SECRET = "alert-secret"  # the fan-out's webhooks and keys
    ALERT_TABLE = "alert-table"  # the fan-out's idempotency table
    ALERT_DLQ = "alert-dlq"  # the fan-out's dead letters: send (a redrive is the operator's)
    ALERT_EMAIL = "alert-email"  # SES, on the configured identity only (stack alertEmail)
    NOTIFY = "notify"  # publish to the low-severity topic (reports, runbook announcements)
    ROTATE_DB = "rotate-db"  # rotation steps on the database secret
    DB_ADMIN_SECRET = "db-admin-secret"  # read the master's secret (the rotation's masterarn)
    ROTATE_TOKEN = "rotate-token"  # rotation steps on the API token secret
    SECRET_AGE = "secret-age"  # describe the three secrets and list their versions (ages)
    STOP_FLAG = "stop-flag"  # write the node's SSM emergency-stop flag
    RUN_COMMAND = "run-command"  # SSM Run Command on the edge host (restart the service)
    RUNBOOK_LOCKS = "runbook-locks"  # the runbooks' lock and once-records (DynamoDB)
    ALARM_STATE = "alarm-state"  # read the alarms' state (a runbook acts only while in ALARM)


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

# The alarm-triggered runbooks, by the name the fan-out's catalogue uses
# (functions/fanout/routing.py CATALOGUE) -> the function that runs it.
RUNBOOKS: dict[str, str] = {
    "pause-trading": "runbook-pause-trading",
    "emergency-stop": "runbook-emergency-stop",
    "node-down": "runbook-node-down",
    "prune": "runbook-prune",
}

# Secrets Manager rotation: the secret -> (days, rotation function or None).
ROTATION: dict[str, tuple[int | None, str | None]] = {
    "api-token": (90, "rotate-api-token"),  # 002: inter-service tokens every 90 days
    "db-credentials": (90, "rotate-database"),  # 002: database passwords every 90 days
    "rpc-keys": (None, None),  # provider-issued: by hand; secret-age warns after 180 days
}
SECRET_MAX_AGE_DAYS: dict[str, int] = {"api-token": 90, "db-credentials": 90, "rpc-keys": 180}

# Retention tiers of the backups (001 backup.sh: daily 30, weekly 90, monthly 365 days; the
# backup functions' retention applies them per backup from its manifest). The bucket's lifecycle
# follows the same boundaries: cheaper storage once only weekly and monthly backups are left
# (30 days), colder once only monthly ones are (90), gone after the last tier (365).
BACKUP_TIERS: dict[str, int] = {"daily": 30, "weekly": 90, "monthly": 365}
BACKUPS_PREFIX = "backups"  # EDGE_OPS_BACKUP_LOCATION = s3://<backups bucket>/backups
REPORTS_PREFIX = "reports"  # EDGE_OPS_REPORT_TO
ARCHIVE_PREFIX = "archive"  # EDGE_OPS_PRUNE_ARCHIVE_TO: pruned rows, kept (never expired)
INCIDENTS_PREFIX = "incidents"  # runbooks' incident reports
REPORTS_DAYS = 365
NONCURRENT_DAYS = 30  # a deleted or overwritten object stays recoverable this long
ABORT_MULTIPART_DAYS = 1  # functions/backup aborts its own after 24 h; this is the floor
LOG_RETENTION_DAYS = 90  # 001 archives logs older than 30 days monthly; kept a quarter here


# --- alarms ---------------------------------------------------------------------------------

INSTANCE = "${instance}"  # dimension value: the edge host's instance id, filled at deploy
STACK = "${stack}"  # dimension value: the stack's name prefix
NODE = "${node}"  # the probe's node name (stack config nodeName, EDGE_OPS_NODE_NAME)
# An alarm with this dimension value is made once per RPC endpoint (stack config rpcEndpoints,
# by name; the probe's Endpoint dimension), named "<alarm>-<endpoint>".
ENDPOINT = "${endpoint}"

_COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


@dataclass(frozen=True, slots=True)
class Alarm:
    """One CloudWatch alarm: its name (after the stack prefix) is the one the fan-out knows."""

    name: str
    summary: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    op: str  # ">", ">=", "<", "<="
    threshold: float
    severity: Severity
    missing: str = "notBreaching"  # breaching where silence means the thing stopped
    runbook: str | None = None  # a key of RUNBOOKS
    seed: str = ""  # the seed's rule this alarm implements, or "" for ours
    datapoints: int | None = None  # M of N; default all N
    # Set where no function publishes the metric yet: who must (tests/infra fails once it is
    # published and this is still set, and lists every such alarm by name).
    awaiting: str = ""

    @property
    def comparison(self) -> str:
        return _COMPARISONS[self.op]


def _ops(service: str, *more: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """A function's metric: ``service`` (and ``environment``, added by the alarms component)
    plus the dimensions the function puts on that metric; CloudWatch matches all or nothing."""
    return (("service", service), *more)


MINUTE, HOUR, DAY = 60, 3600, 86_400

ALARMS: tuple[Alarm, ...] = (
    # --- the probe (from outside the host, every minute; functions/probe/metrics.py) ---
    Alarm(
        "ProbeMissing",
        "the health probe stopped publishing: nothing watches the node",
        NAMESPACE,
        "ProbeDurationMs",
        _ops("probe", ("Node", NODE)),
        "SampleCount",
        MINUTE,
        3,
        "<",
        1,
        Severity.CRITICAL,
        missing="breaching",
        seed="issue 9: a probe that stops running is itself an alarm",
    ),
    Alarm(
        "NodeDown",
        "the node's /healthz is failing",
        NAMESPACE,
        "ProbeCheckOk",
        _ops("probe", ("Check", "healthz"), ("Node", NODE)),
        "Maximum",
        MINUTE,
        1,
        "<",
        1,
        Severity.CRITICAL,
        missing="breaching",
        runbook="node-down",
        seed="001 ServiceDown: up == 0 for 1m; 003 TradingBotDown: for 1m; "
        "000 health_check_status == 0",
    ),
    Alarm(
        "MarketDataStale",
        "the latest price update is older than 300 s",
        NAMESPACE,
        "PriceUpdateAgeSeconds",
        _ops("probe", ("Node", NODE)),
        "Maximum",
        MINUTE,
        1,
        ">",
        300,
        Severity.HIGH,
        missing="breaching",
        runbook="pause-trading",
        seed="000: (current_time - latest_price_update) > 300 seconds",
    ),
    Alarm(
        "RpcHeadLag",
        "the node is behind this RPC endpoint's head (one alarm per endpoint)",
        NAMESPACE,
        "RpcHeadLagBlocks",
        _ops("probe", ("Endpoint", ENDPOINT)),
        "Maximum",
        MINUTE,
        3,
        ">",
        5,
        Severity.HIGH,
        missing="breaching",
        runbook="pause-trading",
        seed="",  # ours: chain.max_head_lag_blocks (5)
    ),
    Alarm(
        "SlowResponse",
        "the node's health check answers slower than 1000 ms",
        NAMESPACE,
        "HealthResponseTimeMs",
        _ops("probe", ("Node", NODE)),
        "Average",
        MINUTE,
        5,
        ">",
        1000,
        Severity.LOW,
        seed="000: health check response > 1000ms (performance degradation trigger)",
    ),
    # --- trading safety (the probe reads them from /health: trading.mode against the mode the
    # node must run in, the risk gate's daily loss against its limit) ---
    Alarm(
        "PaperTradingViolation",
        "the node trades live while it must be on paper",
        NAMESPACE,
        "PaperTradingViolation",
        _ops("probe", ("Node", NODE)),
        "Maximum",
        MINUTE,
        1,
        ">=",
        1,
        Severity.CRITICAL,
        runbook="emergency-stop",
        seed="003 PaperTradingViolation: paper_trading_mode != 1 (critical, < 1 minute)",
    ),
    Alarm(
        "LossLimit",
        "the day's loss is beyond the risk limit",
        NAMESPACE,
        "DailyLossOverLimit",
        _ops("probe", ("Node", NODE)),
        "Maximum",
        MINUTE,
        1,
        ">=",
        1,
        Severity.CRITICAL,
        runbook="emergency-stop",
        seed="",  # ours (issue 9: loss above limit is critical)
    ),
    # --- the edge host (AWS/EC2, and the CloudWatch agent) ---
    Alarm(
        "HighCpuUsage",
        "the edge host's CPU is above 90% for 5 minutes",
        "AWS/EC2",
        "CPUUtilization",
        (("InstanceId", INSTANCE),),
        "Average",
        MINUTE,
        5,
        ">",
        90,
        Severity.CRITICAL,
        seed="000: system_cpu_usage_percent > 90% for 5+ minutes",
    ),
    Alarm(
        "HighMemoryUsage",
        "the edge host's memory is above 85% for 5 minutes",
        HOST_NAMESPACE,
        "mem_used_percent",
        (("InstanceId", INSTANCE),),
        "Average",
        MINUTE,
        5,
        ">",
        85,
        Severity.MEDIUM,
        seed="003 HighMemoryUsage: memory > 0.85 for 5m",
    ),
    Alarm(
        "DiskSpaceWarning",
        "the edge host's data volume is more than 70% full",
        HOST_NAMESPACE,
        "disk_used_percent",
        (("InstanceId", INSTANCE), ("path", "/")),
        "Maximum",
        HOUR,
        1,
        ">",
        70,
        Severity.MEDIUM,
        runbook="prune",
        seed="001 DiskSpaceWarning: disk_usage > 70% for 1h; 000 disk > 70%",
    ),
    Alarm(
        "HostStatusCheckFailed",
        "the edge host's instance or system status check fails",
        "AWS/EC2",
        "StatusCheckFailed",
        (("InstanceId", INSTANCE),),
        "Maximum",
        MINUTE,
        2,
        ">=",
        1,
        Severity.CRITICAL,
        seed="",
    ),
    # --- the database's size (prune publishes it daily) ---
    Alarm(
        "DatabaseSize",
        "the database is larger than 1000 MB: consider archiving",
        NAMESPACE,
        "database_size_mb",
        _ops("prune"),
        "Maximum",
        DAY,
        1,
        ">",
        1000,
        Severity.MEDIUM,
        runbook="prune",
        seed="000: database_size_mb > 1000 MB (consider archiving)",
    ),
    # --- backups ---
    Alarm(
        "BackupStale",
        "no verified backup younger than 8 days (weekly verification + a day)",
        NAMESPACE,
        "NewestVerifiedBackupAgeSeconds",
        _ops("backup"),
        "Maximum",
        DAY,
        1,
        ">",
        8 * DAY,
        Severity.HIGH,
        missing="breaching",
        seed="001: weekly backup verification (Monday)",
    ),
    Alarm(
        "BackupNotTaken",
        "no successful backup in the last day",
        NAMESPACE,
        "BackupSucceeded",
        _ops("backup"),
        "Sum",
        DAY,
        1,
        "<",
        1,
        Severity.HIGH,
        missing="breaching",
        seed="002: daily full backup at 2:00 AM UTC",
    ),
    Alarm(
        "BackupFailed",
        "a backup failed; nothing was kept",
        NAMESPACE,
        "BackupFailed",
        _ops("backup"),
        "Sum",
        HOUR,
        1,
        ">=",
        1,
        Severity.HIGH,
        seed="001 backup.sh: exit 1 on an integrity error",
    ),
    Alarm(
        "BackupCorrupt",
        "the latest backup failed its verification",
        NAMESPACE,
        "VerificationResult",
        _ops("backup"),
        "Minimum",
        DAY,
        1,
        "<",
        1,
        Severity.CRITICAL,
        seed="000/001 S1: data corruption detected",
    ),
    Alarm(
        "DrillFailed",
        "the disaster-recovery drill failed",
        NAMESPACE,
        "DrillResult",
        _ops("backup"),
        "Minimum",
        DAY,
        1,
        "<",
        1,
        Severity.HIGH,
        seed="001: monthly disaster-recovery drill",
    ),
    Alarm(
        "DrillSlow",
        "the drill's recovery took longer than 30 minutes",
        NAMESPACE,
        "DrillRtoSeconds",
        _ops("backup"),
        "Maximum",
        DAY,
        1,
        ">",
        1800,
        Severity.MEDIUM,
        seed="001: measure recovery time (target: < 30 minutes)",
    ),
    # --- trading (the daily report publishes the success rate, in percent) ---
    Alarm(
        "TradeSuccessRateCritical",
        "yesterday's live trade success rate was below 90%",
        NAMESPACE,
        "report_success_rate_live",
        _ops("report"),
        "Minimum",
        DAY,
        1,
        "<",
        90,
        Severity.CRITICAL,
        seed="001 appendix: trade success rate critical < 90%",
    ),
    Alarm(
        "TradeSuccessRateWarning",
        "yesterday's live trade success rate was below 95%",
        NAMESPACE,
        "report_success_rate_live",
        _ops("report"),
        "Minimum",
        DAY,
        1,
        "<",
        95,
        Severity.HIGH,
        seed="001: trade success rate > 95% (warning 90-95%)",
    ),
    # --- secrets ---
    Alarm(
        "SecretAge",
        "a secret is older than its rotation schedule (90 days tokens/passwords, 180 API keys)",
        NAMESPACE,
        "SecretsOverdue",
        _ops("secret-age"),
        "Maximum",
        DAY,
        1,
        ">=",
        1,
        Severity.LOW,
        missing="breaching",
        seed="002: tokens and database passwords every 90 days, API keys every 180 days",
    ),
    # --- alert delivery itself ---
    Alarm(
        "AlertsDeadLettered",
        "alerts could not be delivered and were parked in the dead-letter queue",
        NAMESPACE,
        "AlertsDeadLettered",
        _ops("fanout"),
        "Sum",
        5 * MINUTE,
        1,
        ">=",
        1,
        Severity.CRITICAL,
        seed="issue 9: what still fails goes to a dead-letter queue and raises its own metric",
    ),
)

# Alarms every function gets (the Lambda service's own metrics): errors, and throttles where
# a concurrency limit can refuse a run.
FUNCTION_ERRORS_SEVERITY = Severity.HIGH


def function(name: str) -> Function:
    for f in FUNCTIONS:
        if f.name == name:
            return f
    raise KeyError(name)


def seeded_alarms() -> tuple[Alarm, ...]:
    return tuple(a for a in ALARMS if a.seed)
