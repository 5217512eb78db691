"""``edge-ops backup | backups | verify | restore | drill | retention``: the backup cores from a
laptop or an edge host, against any store URL and any S3 (``AWS_ENDPOINT_URL`` for a moto
server). Defaults come from the same settings as the functions (EDGE_OPS_BACKUP_LOCATION,
EDGE_OPS_DATABASE_URL or DATABASE_URL, EDGE_OPS_SCRATCH_URL)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from functions.cli.output import emit, json_option, progress
from functions.common.errors import BadInput

if TYPE_CHECKING:
    from functions.backup.ops import BackupSettings
    from functions.common.aws import AwsClients
    from functions.common.store import Store

_FROM = click.option(
    "--from",
    "source",
    metavar="s3://BUCKET/PREFIX",
    help="Where the backups are (default: EDGE_OPS_BACKUP_LOCATION).",
)


def _settings() -> BackupSettings:
    from functions.backup.ops import BackupSettings
    from functions.common.settings import load_settings

    return load_settings(BackupSettings)


def _clients(settings: BackupSettings) -> AwsClients:
    from functions.common.aws import AwsClients, AwsOptions

    return AwsClients(AwsOptions.from_settings(settings))


def _store(settings: BackupSettings, clients: AwsClients, url: str | None) -> Store:
    from functions.common.secrets import SecretSource
    from functions.common.store import Store

    if url:
        return Store.from_url(url)
    secrets = (
        SecretSource(clients.secretsmanager, settings.secret_max_age_s)
        if settings.database_secret_id
        else None
    )
    return Store.from_settings(settings, secrets)


@contextmanager
def _rows_progress(label: str) -> Iterator[Callable[[str, int], None]]:
    """The cores report (table, rows so far); the bar counts rows."""
    with progress(label) as bar:
        last: dict[str, int] = {}

        def advance(table: str, rows: int) -> None:
            bar.advance(rows - last.get(table, 0))
            last[table] = rows

        yield advance


def _age(seconds: Any) -> str:
    s = int(seconds or 0)
    if s >= 86_400:
        return f"{s // 86_400}d{(s % 86_400) // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60}m"
    return f"{s // 60}m{s % 60}s"


def _size(n: Any) -> str:
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"


@click.command()
@click.option(
    "--db",
    "db",
    metavar="URL",
    help="The store (default: EDGE_OPS_DATABASE_URL / DATABASE_URL or the secret).",
)
@click.option(
    "--to",
    "dest",
    metavar="s3://BUCKET/PREFIX",
    help="Where to write it (default: EDGE_OPS_BACKUP_LOCATION).",
)
@json_option
def backup(db: str | None, dest: str | None, as_json: bool) -> None:
    """Back up the store: one consistent snapshot, compressed, to S3; the manifest last."""
    from functions.backup.ops import take_backup

    settings = _settings()
    location = settings.location(dest)
    clients = _clients(settings)
    with _rows_progress("backup") as advance:
        m = take_backup(
            settings,
            _store(settings, clients, db),
            clients.s3,
            location,
            reason="manual",
            progress=advance,
        )
    seconds = round((m.finished_at - m.started_at).total_seconds(), 3)
    data = {
        "ok": True,
        "id": m.id,
        "location": location.url(m.id),
        "tables": len(m.tables),
        "rows": m.rows,
        "raw_bytes": m.raw_bytes,
        "stored_bytes": m.stored_bytes,
        "seconds": seconds,
        "revision": m.revision,
    }
    emit(
        data,
        as_json,
        lambda: (
            f"backup {m.id}: {m.rows} rows in {len(m.tables)} tables, "
            f"{_size(m.stored_bytes)} at {location.url(m.id)} ({seconds} s)"
        ),
    )


@click.command()
@_FROM
@json_option
def backups(source: str | None, as_json: bool) -> None:
    """List the backups (those with a manifest): age, size, rows and verification state."""
    from functions.backup.ops import list_backups

    settings = _settings()
    listing = list_backups(settings, _clients(settings).s3, settings.location(source))

    def table() -> str:
        if not listing.backups:
            return f"no backups at {listing.location}"
        lines = [f"{'id':<24} {'age':>8} {'size':>10} {'rows':>10}  state"]
        for b in listing.backups:
            problem = f"  ({b['problems'][0]})" if b["problems"] else ""  # type: ignore[index]
            lines.append(
                f"{b['id']!s:<24} {_age(b['age_s']):>8} {_size(b['size_bytes']):>10} "
                f"{b['rows'] or '-'!s:>10}  {b['state']}{problem}"
            )
        if listing.incomplete:
            lines.append(f"(incomplete, not backups: {', '.join(listing.incomplete)})")
        return "\n".join(lines)

    emit(
        {
            "ok": True,
            "location": listing.location,
            "backups": listing.backups,
            "incomplete": listing.incomplete,
        },
        as_json,
        table,
    )


def _report_check(result: Any, as_json: bool, what: str) -> None:
    v = result.verification
    data = {
        "ok": v.state == "verified",
        "id": result.backup_id,
        "state": v.state,
        "problems": v.problems,
        "duration_s": v.duration_s,
        "rto_s": v.rto_s,
        "size_bytes": result.size,
        "rows": result.restore.rows if result.restore else None,
    }

    def human() -> str:
        head = f"{what} of backup {result.backup_id}: {v.state} in {v.duration_s} s"
        if v.rto_s is not None:
            head += f" (RTO {v.rto_s} s)"
        return "\n".join([head, *(f"  problem: {p}" for p in v.problems)])

    emit(data, as_json, human)
    if v.state != "verified":
        click.echo(
            f"edge-ops: error: backup {result.backup_id} failed {what}: it is marked failed",
            err=True,
        )
        sys.exit(1)


@click.command()
@_FROM
@click.argument("name", default="latest", metavar="[ID|latest]")
@click.option(
    "--scratch",
    metavar="URL",
    help="PostgreSQL server for the scratch database "
    "(default: EDGE_OPS_SCRATCH_URL, else the server of DATABASE_URL).",
)
@json_option
def verify(source: str | None, name: str, scratch: str | None, as_json: bool) -> None:
    """Re-read a backup against its manifest and restore it into a scratch database that is
    dropped afterwards; the result is stored beside the manifest. Exit 1 if it fails."""
    from functions.backup.ops import run_verify

    settings = _settings()
    with _rows_progress("verify") as advance:
        result = run_verify(
            settings,
            _clients(settings).s3,
            settings.location(source),
            name,
            scratch,
            progress=advance,
        )
    _report_check(result, as_json, "verification")


@click.command()
@_FROM
@click.option("--scratch", metavar="URL", help="PostgreSQL server for the scratch database.")
@json_option
def drill(source: str | None, scratch: str | None, as_json: bool) -> None:
    """The disaster-recovery drill: restore the latest backup into a scratch database, verify
    it, check the store's invariants and measure the recovery time (RTO)."""
    from functions.backup.ops import run_verify

    settings = _settings()
    with _rows_progress("drill") as advance:
        result = run_verify(
            settings,
            _clients(settings).s3,
            settings.location(source),
            "latest",
            scratch,
            kind="drill",
            progress=advance,
        )
    _report_check(result, as_json, "drill")


@click.command()
@_FROM
@click.argument("name", metavar="ID|latest")
@click.option("--to", "target", required=True, metavar="URL", help="The database to restore into.")
@click.option(
    "--force", is_flag=True, help="Replace a target that holds data (it is backed up first)."
)
@json_option
def restore(source: str | None, name: str, target: str, force: bool, as_json: bool) -> None:
    """Restore a backup into a database, checked against the manifest and migrated to head.
    Stop the edge node first. "latest" skips backups that failed verification."""
    from functions.backup.ops import run_restore

    settings = _settings()
    clients = _clients(settings)
    with _rows_progress("restore") as advance:
        r = run_restore(
            settings,
            clients.s3,
            settings.location(source),
            name,
            _store(settings, clients, target),
            force=force,
            progress=advance,
        )
    data = {
        "ok": True,
        "id": r.backup_id,
        "target": r.target,
        "tables": r.tables,
        "rows": r.rows,
        "seconds": r.seconds,
        "revision": r.revision,
        "pre_restore_backup": r.pre_restore_backup,
    }
    pre = (
        f"; the target's previous content is backup {r.pre_restore_backup}"
        if r.pre_restore_backup
        else ""
    )
    emit(
        data,
        as_json,
        f"restored backup {r.backup_id} into {r.target}: {r.rows} rows, "
        f"schema at {r.revision} ({r.seconds} s){pre}",
    )


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")


def parse_duration(text: str) -> timedelta:
    m = _DURATION.fullmatch(text.strip())
    if not m:
        raise BadInput(f"{text!r} is not a duration: write e.g. 30s, 15m, 24h or 1d")
    scale = {"s": 1, "m": 60, "h": 3600, "d": 86_400}[m.group(2)]
    return timedelta(seconds=float(m.group(1)) * scale)


@click.command()
@_FROM
@click.option("--dry-run", is_flag=True, help="Only say what would be deleted.")
@click.option(
    "--daily-days", type=click.IntRange(min=1), help="Keep every backup this many days (30)."
)
@click.option(
    "--weekly-days", type=click.IntRange(min=1), help="Keep each week's first this many days (90)."
)
@click.option(
    "--monthly-days",
    type=click.IntRange(min=1),
    help="Keep each month's first this many days (365).",
)
@click.option(
    "--keep-verified",
    type=click.IntRange(min=1),
    help="Never delete the newest N verified backups (3).",
)
@click.option(
    "--orphan-age", metavar="DURATION", help="Remove incomplete backups older than this (1d)."
)
@json_option
def retention(
    source: str | None,
    dry_run: bool,
    daily_days: int | None,
    weekly_days: int | None,
    monthly_days: int | None,
    keep_verified: int | None,
    orphan_age: str | None,
    as_json: bool,
) -> None:
    """Apply the retention tiers (decided from manifests) and clean up incomplete backups."""
    from functions.backup.ops import run_retention

    settings = _settings()
    base = settings.policy()
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "daily_days": daily_days,
            "weekly_days": weekly_days,
            "monthly_days": monthly_days,
            "keep_verified": keep_verified,
        }.items()
        if v is not None
    }
    if orphan_age is not None:
        changes["orphan_age"] = parse_duration(orphan_age)
    policy = base.model_copy(update=changes)
    r = run_retention(
        settings,
        _clients(settings).s3,
        settings.location(source),
        now=datetime.now(UTC),
        dry_run=dry_run,
        policy=policy,
    )
    data = {
        "ok": True,
        "dry_run": dry_run,
        "deleted": r.deleted,
        "kept": r.kept,
        "orphan_objects_deleted": r.orphan_objects_deleted,
        "uploads_aborted": r.uploads_aborted,
        "decisions": [
            {"id": d.backup_id, "keep": d.keep, "reasons": list(d.reasons)} for d in r.decisions
        ],
    }
    verb = "would delete" if dry_run else "deleted"
    emit(
        data,
        as_json,
        f"{verb} {len(r.deleted)} backups ({', '.join(r.deleted) or 'none'}), kept {len(r.kept)}; "
        f"{r.orphan_objects_deleted} objects of incomplete backups and "
        f"{r.uploads_aborted} unfinished uploads removed",
    )


COMMANDS = (backup, backups, verify, restore, drill, retention)
