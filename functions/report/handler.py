"""The scheduled report functions: one handler per period, each on its own EventBridge schedule
(UTC, ``functions/report/settings.py`` SCHEDULES): daily at 00:15 (the day before), weekly on
Fridays at 06:00 (seeds 001/002; the last complete ISO week, ended the Sunday before), monthly
on the 1st at 00:45 (the month before).

Writes ``report.json``, ``report.md`` and PNG charts under ``EDGE_OPS_REPORT_TO`` and announces
them on ``EDGE_OPS_NOTIFY_TOPIC_ARN`` (SNS; the fan-out delivers it). The period is taken from
the event's scheduled time, so a retried invocation writes the same report again. Metrics:
``report_failed`` (0/1), and per mode ``report_success_rate`` and ``report_attempts``.
Charts import matplotlib when drawn: this handler is allowed over the cold-start target.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from functions.common.observability import for_function
from functions.common.settings import OpsSettings, load_settings
from functions.report.settings import REPORT_FAILED, ReportSettings, attempts, success_rate

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.common.aws import AwsClients

obs = for_function("report")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer

_aws: AwsClients | None = None


def _clients(settings: OpsSettings) -> AwsClients:
    global _aws  # one set per process: warm invocations reuse the connections
    if _aws is None:
        from functions.common.aws import AwsClients, AwsOptions

        _aws = AwsClients(AwsOptions.from_settings(settings))
    return _aws


def _run(kind: str, event: EventBridgeEvent) -> dict[str, Any]:
    try:
        out = _report(kind, event)
    except Exception:
        metrics.add_metric(name=REPORT_FAILED, unit=MetricUnit.Count, value=1)
        logger.exception("report failed", extra={"report": kind})
        raise
    metrics.add_metric(name=REPORT_FAILED, unit=MetricUnit.Count, value=0)
    return out


def _report(kind: str, event: EventBridgeEvent) -> dict[str, Any]:
    from functions.common.s3url import S3Location
    from functions.common.secrets import SecretSource
    from functions.common.store import Store
    from functions.report import build, publish

    settings = load_settings(ReportSettings)
    aws = _clients(settings)
    dest = S3Location.parse(settings.report_to)
    fired = datetime.fromisoformat(event.time.replace("Z", "+00:00"))
    period = build.last_complete_period(kind, fired)
    store = Store.from_settings(
        settings, SecretSource(aws.secretsmanager, settings.secret_max_age_s)
    )
    try:
        report = store.run(
            lambda engine: build.build(
                engine,
                period,
                chain_id=settings.report_chain_id,
                capital_symbol=settings.report_capital_token,
                quote=settings.report_quote,
                starting_capital=settings.report_starting_capital,
                now=fired,
            )
        )
    finally:
        store.dispose()
    urls = publish.to_s3(report, aws.s3, dest)
    message = publish.announcement(report, urls)
    message_id = None
    if settings.notify_topic_arn:
        message_id = publish.announce(aws.sns, settings.notify_topic_arn, message)
    for mode, data in report["modes"].items():
        t = data["totals"]
        metrics.add_metric(name=attempts(mode), unit=MetricUnit.Count, value=t["attempts"])
        if t["success_rate"] is not None:
            metrics.add_metric(
                name=success_rate(mode),
                unit=MetricUnit.Percent,
                value=round(t["success_rate"] * 100, 4),
            )
    logger.info("report written", extra={"objects": urls, "message_id": message_id})
    return {**message, "message_id": message_id}


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def daily(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    return _run("daily", event)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def weekly(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    return _run("weekly", event)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def monthly(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    return _run("monthly", event)
