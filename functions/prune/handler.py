"""The daily retention function (seed 001: every day at 23:00 UTC, EventBridge schedule).

Settings (environment): the store (``EDGE_OPS_DATABASE_URL`` or ``EDGE_OPS_DATABASE_SECRET_ID``),
``EDGE_OPS_PRUNE_ARCHIVE_TO`` (s3://bucket/prefix), ``EDGE_OPS_PRUNE_OLDER_THAN`` (90d),
``EDGE_OPS_PRUNE_BATCH_SIZE``. Metrics (EMF, namespace EdgeOps): ``database_size_mb`` (seed
000 alarms above 1000), ``prune_rows_archived``, ``prune_bytes_archived``, ``prune_failed``.
The horizon is measured from the event's scheduled time, so a retried invocation prunes the
same rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from functions.common.observability import for_function
from functions.common.settings import OpsSettings, load_settings
from functions.prune.settings import PRUNE_FAILED, PruneSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.common.aws import AwsClients

obs = for_function("prune")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer

_aws: AwsClients | None = None


def _clients(settings: OpsSettings) -> AwsClients:
    global _aws  # one set per process: warm invocations reuse the connections
    if _aws is None:
        from functions.common.aws import AwsClients, AwsOptions

        _aws = AwsClients(AwsOptions.from_settings(settings))
    return _aws


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    try:
        result = _prune(event)
    except Exception:
        metrics.add_metric(name=PRUNE_FAILED, unit=MetricUnit.Count, value=1)
        logger.exception("prune failed")
        raise
    metrics.add_metric(name=PRUNE_FAILED, unit=MetricUnit.Count, value=0)
    return result


def _prune(event: EventBridgeEvent) -> dict[str, Any]:
    from functions.common.s3url import S3Location
    from functions.common.secrets import SecretSource
    from functions.common.store import Store
    from functions.prune import service

    settings = load_settings(PruneSettings)
    aws = _clients(settings)
    dest = S3Location.parse(settings.prune_archive_to, require_prefix=True)
    secrets = SecretSource(aws.secretsmanager, settings.secret_max_age_s)
    store = Store.from_settings(settings, secrets)
    now = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    try:
        result = service.run(
            store,
            aws.s3,
            dest,
            now=now,
            older_than=service.parse_age(settings.prune_older_than),
            batch_size=settings.prune_batch_size,
        )
    finally:
        store.dispose()
    metrics.add_metric(
        name=service.DATABASE_SIZE_MB, unit=MetricUnit.Megabytes, value=result["database_size_mb"]
    )
    metrics.add_metric(
        name=service.PRUNE_ROWS_ARCHIVED, unit=MetricUnit.Count, value=result["rows"]
    )
    archived = sum(t["bytes"] for t in result["tables"].values())
    metrics.add_metric(name=service.PRUNE_BYTES_ARCHIVED, unit=MetricUnit.Bytes, value=archived)
    logger.info("prune done", extra={"prune": result})
    return result
