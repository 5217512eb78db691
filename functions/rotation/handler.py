"""The rotation function Secrets Manager calls (``handler``: one event per step) and the
daily secret-age check (``age``: an EventBridge schedule).

Both handlers are thin: the steps are ``steps.run_step``, the check ``age.scan``. Nothing is
created at import but the powertools set; clients are made at the first call and reused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source

from functions.common.aws import AwsClients, AwsOptions
from functions.common.observability import NAMESPACE, for_function
from functions.common.settings import load_settings
from functions.rotation import age as age_check
from functions.rotation import metrics as m
from functions.rotation.kinds import SecretKind
from functions.rotation.settings import RotationSettings
from functions.rotation.staging import RotationEvent, RotationRefused
from functions.rotation.steps import Rotator, run_step
from functions.rotation.wiring import rotators

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

obs = for_function("rotation")
logger, metrics, tracer = obs.logger, obs.metrics, obs.tracer
# The age check is its own function (infra: "secret-age"), and its metrics carry that name as
# their service dimension, which the SecretAge alarm reads. Only the metrics: its lines are
# logged through this module's logger like the rotation steps'.
age_metrics = Metrics(namespace=NAMESPACE, service=m.AGE_SERVICE)
_clients: AwsClients | None = None  # made at the first call, reused by warm invocations


def _aws(settings: RotationSettings) -> AwsClients:
    global _clients
    _clients = _clients or AwsClients(AwsOptions.from_settings(settings))
    return _clients


def _step(event: dict[str, Any], only: SecretKind | None) -> dict[str, Any]:
    """One rotation step. An error propagates: Secrets Manager marks the rotation failed and
    retries it (with the same version, which every step resumes)."""
    settings = load_settings(RotationSettings)
    ev = RotationEvent.parse(event)
    sm = _aws(settings).secretsmanager
    logger.append_keys(secret=ev.secret_id, step=ev.step.value, version=ev.token)
    rotator_for = rotators(settings, sm)

    def checked(kind: SecretKind) -> Rotator:
        if only is not None and kind is not only:
            raise RotationRefused(
                f"this function rotates {only.value} secrets; {ev.secret_id} is {kind.value}"
            )
        return rotator_for(kind)

    try:
        outcome = run_step(sm, ev.secret_id, ev.token, ev.step, checked)
    except Exception as err:
        metrics.add_metric(name=m.STEP_FAILED, unit=MetricUnit.Count, value=1)
        logger.error("rotation step failed", extra={"error": type(err).__name__, "why": str(err)})
        raise
    metrics.add_metric(name=m.STEP_SUCCEEDED, unit=MetricUnit.Count, value=1)
    if outcome.step == "finishSecret" and outcome.action == "done":
        metrics.add_metric(name=m.FINISHED, unit=MetricUnit.Count, value=1)
    return {
        "secret": outcome.secret,
        "version": outcome.version,
        "step": outcome.step,
        "action": outcome.action,
    }


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Any of our rotated secrets (its kind from its tag or its value)."""
    return _step(event, None)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def api_token(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The node's API token only (the function infra attaches to that secret)."""
    return _step(event, SecretKind.API_TOKEN)


@logger.inject_lambda_context
@metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
def database(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The database credentials only (alternating users)."""
    return _step(event, SecretKind.DATABASE)


@logger.inject_lambda_context
@age_metrics.log_metrics(raise_on_empty_metrics=False)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def age(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    settings = load_settings(RotationSettings)
    aws = _aws(settings)
    now = _event_time(event.time)
    return check_ages(settings, aws, now)


secret_age = age  # the name infra's catalog gives the scheduled function


def check_ages(settings: RotationSettings, aws: AwsClients, now: datetime) -> dict[str, Any]:
    """The secret-age check: metrics, a warning per finding, a fan-out event if configured."""
    from aws_lambda_powertools.metrics import single_metric

    stuck_after = timedelta(hours=settings.rotation_stuck_hours)
    findings = age_check.scan(
        aws.secretsmanager,
        now,
        stuck_after,
        settings.secret_ids,
        settings.secret_max_age_days,
    )
    for f in findings:
        with single_metric(
            name=m.SECRET_AGE_DAYS,
            unit=MetricUnit.Count,
            value=f.age_days,
            namespace=age_metrics.namespace,
            default_dimensions={**age_metrics.default_dimensions, m.SECRET: f.name},
        ):
            pass
        if f.ok:
            continue
        logger.warning(
            "secret overdue" if f.overdue else "secret rotation stuck",
            extra={
                "secret": f.name,
                "kind": f.kind.value,
                "age_days": f.age_days,
                "max_age_days": f.max_age_days,
                "rotation_stuck": f.rotation_stuck,
                "advice": f.advice,
            },
        )
        if settings.notify_topic_arn:
            aws.sns.publish(
                TopicArn=settings.notify_topic_arn,
                Subject="secret overdue" if f.overdue else "secret rotation stuck",
                Message=json.dumps(age_check.alert_event(f, now, settings.environment)),
            )
    overdue = sum(f.overdue for f in findings)
    stuck = sum(f.rotation_stuck for f in findings)
    age_metrics.add_metric(name=m.SECRETS_CHECKED, unit=MetricUnit.Count, value=len(findings))
    age_metrics.add_metric(name=m.SECRETS_OVERDUE, unit=MetricUnit.Count, value=overdue)
    age_metrics.add_metric(name=m.ROTATIONS_STUCK, unit=MetricUnit.Count, value=stuck)
    return {
        "checked": len(findings),
        "overdue": [f.name for f in findings if f.overdue],
        "rotation_stuck": [f.name for f in findings if f.rotation_stuck],
        "announced": bool(settings.notify_topic_arn) and (overdue + stuck) > 0,
    }


def _event_time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
