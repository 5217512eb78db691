"""The backup functions: four scheduled Lambda entry points around the backup cores.

- ``backup``     daily 02:00 UTC: a full backup of the store; fails loudly (raises, BackupFailed)
- ``retention``  daily after it: tiers from manifests, the last verified kept, orphans removed
- ``verify``     weekly (Monday): the latest backup restored into a scratch database and checked
- ``drill``      monthly on the 15th: verify plus the store's invariants, RTO published

Every one publishes the age and size of the newest verified backup (EMF), so the age alarm has
fresh data every day whichever function ran. Errors propagate: the invocation fails.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from functions.backup import metrics as names
from functions.common.aws import AwsClients, AwsOptions
from functions.common.observability import for_function
from functions.common.settings import load_settings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

obs = for_function("backup")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer
_clients: AwsClients | None = None  # made at the first call, reused by warm invocations


def eventbridge(
    fn: Callable[[EventBridgeEvent, Any], dict[str, Any]],
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """powertools' ``event_source(data_class=EventBridgeEvent)``, with the data class imported
    at the first call: importing powertools' data_classes package loads every event class
    (~50 ms of cold start for a function that reads one)."""

    @functools.wraps(fn)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent

        return fn(EventBridgeEvent(event), context)

    return handler


def _setup() -> tuple[Any, AwsClients]:
    global _clients
    from functions.backup.ops import BackupSettings

    settings = load_settings(BackupSettings)
    _clients = _clients or AwsClients(AwsOptions.from_settings(settings))
    return settings, _clients


def _store(settings: Any, clients: AwsClients) -> Any:
    from functions.common.secrets import SecretSource
    from functions.common.store import Store

    secrets = (
        SecretSource(clients.secretsmanager, settings.secret_max_age_s)
        if settings.database_secret_id
        else None
    )
    return Store.from_settings(settings, secrets)


def _publish_freshness(settings: Any, clients: AwsClients, location: Any) -> dict[str, Any]:
    from functions.backup.ops import freshness

    f = freshness(settings, clients.s3, location)
    metrics.add_metric(name=names.VERIFIED_BACKUPS, unit="Count", value=f.verified_backups)
    if f.newest_verified_age_s is not None:
        metrics.add_metric(
            name=names.NEWEST_VERIFIED_AGE, unit="Seconds", value=f.newest_verified_age_s
        )
    if f.newest_verified_bytes is not None:
        metrics.add_metric(
            name=names.NEWEST_VERIFIED_BYTES, unit="Bytes", value=f.newest_verified_bytes
        )
    return {
        "verified_backups": f.verified_backups,
        "newest_verified": f.newest_verified_id,
        "newest_verified_age_s": f.newest_verified_age_s,
    }


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@eventbridge
def backup(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    from functions.backup.ops import take_backup

    try:
        settings, clients = _setup()
        location = settings.location()
        manifest = take_backup(
            settings, _store(settings, clients), clients.s3, location, reason="scheduled"
        )
    except BaseException:
        metrics.add_metric(name=names.BACKUP_FAILED, unit="Count", value=1)
        logger.exception("backup failed; nothing was kept", extra={"scheduled_at": event.time})
        raise
    seconds = (manifest.finished_at - manifest.started_at).total_seconds()
    metrics.add_metric(name=names.BACKUP_SUCCEEDED, unit="Count", value=1)
    metrics.add_metric(name=names.BACKUP_BYTES, unit="Bytes", value=manifest.stored_bytes)
    metrics.add_metric(name=names.BACKUP_SECONDS, unit="Seconds", value=seconds)
    logger.info(
        "backup written",
        extra={"backup_id": manifest.id, "bytes": manifest.stored_bytes, "rows": manifest.rows},
    )
    result = {
        "backup_id": manifest.id,
        "location": location.url(manifest.id),
        "bytes": manifest.stored_bytes,
        "rows": manifest.rows,
        "seconds": seconds,
    }
    result.update(_publish_freshness(settings, clients, location))
    return result


def _scratch_from_secret(settings: Any, clients: AwsClients) -> str | None:
    """The scratch server for verify and drill when the store is given as a secret only (as the
    deployed functions are: EDGE_OPS_DATABASE_SECRET_ID): the store's own server, whose master
    user may create and drop the scratch database. None when a URL says where it is."""
    if settings.scratch_server() is not None or not settings.database_secret_id:
        return None
    from functions.common.secrets import SecretSource
    from functions.common.store import url_from_secret

    source = SecretSource(clients.secretsmanager, settings.secret_max_age_s)
    secret_id = settings.database_secret_id
    return url_from_secret(source.get(secret_id), f"secret {secret_id!r}")


def _check(event: EventBridgeEvent, kind: str) -> dict[str, Any]:
    from functions.backup.ops import run_verify

    settings, clients = _setup()
    location = settings.location()
    scratch = _scratch_from_secret(settings, clients)
    result = run_verify(settings, clients.s3, location, "latest", scratch, kind=kind)  # type: ignore[arg-type]
    v = result.verification
    ok = 1 if v.state == "verified" else 0
    metrics.add_metric(
        name=names.DRILL_RESULT if kind == "drill" else names.VERIFICATION_RESULT,
        unit="Count",
        value=ok,
    )
    if kind == "drill" and v.rto_s is not None:
        metrics.add_metric(name=names.DRILL_RTO_SECONDS, unit="Seconds", value=v.rto_s)
    out: dict[str, Any] = {
        "backup_id": result.backup_id,
        "state": v.state,
        "problems": v.problems,
        "duration_s": v.duration_s,
        "rto_s": v.rto_s,
    }
    out.update(_publish_freshness(settings, clients, location))
    if not ok:
        logger.error(f"{kind} failed", extra=out)
        from functions.backup.errors import BackupCorrupt

        # The record is stored and the metric set; the invocation fails so that it is seen.
        raise BackupCorrupt([f"backup {result.backup_id}: {p}" for p in v.problems])
    logger.info(f"{kind} passed", extra=out)
    return out


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@eventbridge
def verify(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    return _check(event, "verify")


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@eventbridge
def drill(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    return _check(event, "drill")


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@eventbridge
def retention(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    from datetime import datetime

    from functions.backup.ops import run_retention

    settings, clients = _setup()
    location = settings.location()
    now = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    result = run_retention(settings, clients.s3, location, now=now)
    metrics.add_metric(name=names.RETENTION_DELETED, unit="Count", value=len(result.deleted))
    metrics.add_metric(name=names.RETENTION_KEPT, unit="Count", value=len(result.kept))
    metrics.add_metric(
        name=names.ORPHANS_DELETED, unit="Count", value=result.orphan_objects_deleted
    )
    out: dict[str, Any] = {
        "deleted": result.deleted,
        "kept": len(result.kept),
        "orphan_objects_deleted": result.orphan_objects_deleted,
        "uploads_aborted": result.uploads_aborted,
    }
    out.update(_publish_freshness(settings, clients, location))
    logger.info("retention applied", extra=out)
    return out
