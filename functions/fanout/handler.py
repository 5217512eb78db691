"""Lambda handler of the alert fan-out: subscribed to the alerts SNS topic, and invocable
directly with one of our own events (``{"kind": ...}``) or an Alertmanager webhook.

Thin: settings, clients and the fan-out are built once per process (warm invocations reuse
connections and the cached secret); the work is ``core.fan_out``.

Metrics (namespace EdgeOps, service fanout): ``AlertsReceived``; per channel (dimension
``channel``) ``AlertDelivered``, ``AlertDuplicateSkipped`` and ``AlertDeadLettered``; and
``AlertsDeadLettered`` without a channel, the one the dead-letter alarm watches;
``AlertIdempotencyUnavailable`` when the table could not be used (delivered anyway). An invocation
that could not even dead-letter a failure raises (``AlertDeliveryIncomplete`` = 1) so that
Lambda retries it; nothing reports success on failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from functions.common.errors import BadInput, Unavailable
from functions.common.observability import NAMESPACE, for_function
from functions.fanout import metrics as names
from functions.fanout.core import Summary, fan_out
from functions.fanout.delivery import DeliveryIncomplete
from functions.fanout.sources import UnreadableAlert

if TYPE_CHECKING:  # the rest is imported at the first call, off the cold-start path
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.fanout.delivery import FanOut
    from functions.fanout.once import DynamoDBGate
    from functions.fanout.wiring import FanoutSettings

obs = for_function("fanout")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer

_PER_CHANNEL = {
    "delivered": names.DELIVERED,
    "duplicate": names.DUPLICATE_SKIPPED,
    "in_progress_elsewhere": names.DUPLICATE_SKIPPED,
    "dead_lettered": names.DEAD_LETTERED,
}


@dataclass
class _App:
    settings: FanoutSettings
    fanout: FanOut
    gate: DynamoDBGate


_app: _App | None = None


def _build() -> _App:
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.settings import load_settings
    from functions.fanout.once import DynamoDBGate
    from functions.fanout.wiring import FanoutSettings, build_fanout

    settings = load_settings(FanoutSettings)
    if not settings.alert_idempotency_table:
        raise BadInput(
            "EDGE_OPS_ALERT_IDEMPOTENCY_TABLE is not set: duplicates could not be recognised"
        )
    clients = AwsClients(AwsOptions.from_settings(settings))
    gate = DynamoDBGate(settings.alert_idempotency_table, clients.dynamodb)
    return _App(settings, build_fanout(settings, clients, gate=gate), gate)


def app() -> _App:
    global _app
    if _app is None:
        _app = _build()
    return _app


def reset() -> None:
    """Forget the built app (tests change the environment between cases)."""
    global _app
    _app = None


def _record(summary: Summary) -> None:
    metrics.add_metric(name=names.ALERTS_RECEIVED, unit=MetricUnit.Count, value=len(summary.alerts))
    metrics.add_metric(
        name=names.ALERTS_DEAD_LETTERED, unit=MetricUnit.Count, value=len(summary.dead_lettered)
    )
    for outcome in summary.outcomes:
        with single_metric(
            name=_PER_CHANNEL[outcome.status],
            unit=MetricUnit.Count,
            value=1,
            namespace=NAMESPACE,
            default_dimensions={"service": obs.service},
        ) as metric:
            metric.add_dimension(name=names.CHANNEL, value=outcome.channel.value)
        line = outcome.as_dict()
        line["alert"] = line.pop("name")  # "name" is a LogRecord attribute
        if outcome.status == "dead_lettered":
            logger.error("alert not delivered; parked in the dead-letter queue", extra=line)
        else:
            logger.info(f"alert {outcome.status}", extra=line)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    a = app()
    a.gate.register_context(context)
    budget = context.get_remaining_time_in_millis() / 1000 - a.settings.alert_deadline_margin_s
    try:
        summary = fan_out(event, a.fanout, max(budget, 1.0))
    except UnreadableAlert as err:
        metrics.add_metric(name=names.ALERTS_UNREADABLE, unit=MetricUnit.Count, value=1)
        raise BadInput(f"unreadable alert event: {err}") from None
    except DeliveryIncomplete as err:
        metrics.add_metric(name=names.DELIVERY_INCOMPLETE, unit=MetricUnit.Count, value=1)
        logger.error(
            "deliveries neither sent nor dead-lettered; failing for a retry",
            extra={"error": str(err)},
        )
        raise Unavailable(str(err)) from None
    _record(summary)
    if a.gate.unavailable:
        # delivered without duplicate protection: the table needs a look
        metrics.add_metric(
            name=names.IDEMPOTENCY_UNAVAILABLE, unit=MetricUnit.Count, value=a.gate.unavailable
        )
        a.gate.unavailable = 0
    return {"ok": True, **summary.as_dict()}
