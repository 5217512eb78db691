"""The runbook functions, one per runbook (infra/catalog/: runbook-pause-trading, ...), each
invoked by its alarms directly (the alarm's Lambda action) or through SNS.

Metrics (EMF, namespace EdgeOps, service ``runbook``, dimension ``runbook``): ``RunbookActed``,
``RunbookSkipped`` (alarm OK again, handled already, another run busy), ``RunbookEscalated``
(the action failed or did not take effect: a critical alert went out), ``RunbookFailed``
(the invocation itself failed: bad settings, CloudWatch or DynamoDB unreachable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from functions.common.observability import for_function

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from functions.common.aws import AwsClients

obs = for_function("runbook")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer
_aws: AwsClients | None = None  # made at the first call, reused by warm invocations


def _run(name: str, event: dict[str, Any]) -> dict[str, Any]:
    global _aws
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.settings import load_settings
    from functions.runbook import context, runner
    from functions.runbook.settings import RunbookSettings
    from functions.runbook.trigger import parse_trigger

    metrics.add_dimension(name="runbook", value=name)
    try:
        settings = load_settings(RunbookSettings)
        _aws = _aws or AwsClients(AwsOptions.from_settings(settings))
        results = []
        for trigger in parse_trigger(event):
            ctx = context.build(settings, _aws, f"runbook:{name}", need_store=True)
            try:
                result = runner.run(name, trigger, ctx)
            finally:
                if ctx.store is not None:
                    ctx.store.dispose()
            results.append(result.as_dict())
            _count(result.acted, result.skipped, result.escalated)
            logger.info("runbook %s: %s", name, result.summary or result.skipped, extra={
                "runbook_result": result.as_dict()
            })  # fmt: skip
    except Exception:
        metrics.add_metric(name="RunbookFailed", unit=MetricUnit.Count, value=1)
        logger.exception("runbook %s failed", name)
        raise
    metrics.add_metric(name="RunbookFailed", unit=MetricUnit.Count, value=0)
    return {"runbook": name, "results": results}


def _count(acted: bool, skipped: str | None, escalated: bool) -> None:
    metrics.add_metric(name="RunbookActed", unit=MetricUnit.Count, value=int(acted))
    metrics.add_metric(name="RunbookSkipped", unit=MetricUnit.Count, value=int(bool(skipped)))
    metrics.add_metric(name="RunbookEscalated", unit=MetricUnit.Count, value=int(escalated))


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def pause_trading(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("pause-trading", event)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def emergency_stop(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("emergency-stop", event)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def node_down(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("node-down", event)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def prune(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return _run("prune", event)
