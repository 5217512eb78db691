"""The probe, every minute (EventBridge schedule ``rate(1 minute)``): the node's /healthz and
/health, each RPC endpoint's head against the node's block, the last price update's age, and
the newest verified backup's age, published as EMF metrics (``functions/probe/metrics.py``).

A failed check is a metric, not a failed invocation: the invocation fails only when the probe
cannot run at all (bad settings). Every check publishes ``ProbeCheckOk`` each run, so an alarm
that treats missing data as breaching also catches a probe that stopped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from functions.common.observability import for_function
from functions.common.settings import load_settings

if TYPE_CHECKING:
    from functions.probe.wiring import Sources

SCHEDULE = "rate(1 minute)"

obs = for_function("probe")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer
# Made at the first call and reused by warm invocations: the clients, and the secrets' cache.
_sources: Sources | None = None


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: Any) -> dict[str, Any]:
    global _sources
    from functions.common.aws import AwsClients
    from functions.probe import wiring
    from functions.probe.publish import publish
    from functions.probe.run import probe
    from functions.probe.settings import ProbeSettings

    settings = load_settings(ProbeSettings)
    _sources = _sources or wiring.Sources(
        AwsClients(wiring.aws_options(settings)), settings.secret_max_age_s
    )
    report = probe(
        wiring.target(settings, _sources), settings.thresholds(), wiring.limits(settings)
    )
    publish(report.points, settings.environment)
    for c in report.failed:
        logger.warning(
            "probe check failed", extra={"check": c.check, "target": c.target, "detail": c.detail}
        )
    logger.info(
        "probe done",
        extra={"ok": report.ok, "failed": len(report.failed), "duration_ms": report.duration_ms},
    )
    return {**report.as_dict(), "scheduled_at": event.time}
