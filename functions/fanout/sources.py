"""Every way an alert reaches the fan-out, into :class:`Alert` (pure).

- SNS (several records per event): a CloudWatch alarm's JSON, an Alertmanager webhook, an
  alert the edge host's Alertmanager published (its message attributes, shared/alert_notice.py),
  one of our own events, or any other text. A record nobody can read is still delivered, as text
  with what could not be read, never dropped (terraform-aws-notify-slack dropped them).
- Direct invocation: our own event (``{"kind": ...}``) or an Alertmanager webhook, also as a
  Lambda function URL request whose body is the webhook.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from functions.fanout.alert import (
    Alert,
    Link,
    Severity,
    State,
    UnknownSeverity,
    parse_severity,
)
from functions.fanout.routing import UNKNOWN_ALARM_SEVERITY, lookup
from functions.fanout.sources_alertmanager import is_alertmanager, parse_notice, parse_webhook
from functions.fanout.sources_cloudwatch import (
    UnreadableAlert,
    is_cloudwatch_alarm,
    parse_alarm,
    parse_time,
)
from shared import alert_notice

__all__ = ["UnreadableAlert", "parse_event", "parse_internal", "parse_sns_record"]

Kind = Literal["emergency_stop", "runbook_action", "function_failure", "report", "alert"]

_KIND_SEVERITY: dict[str, Severity] = {
    "emergency_stop": Severity.CRITICAL,
    "function_failure": Severity.HIGH,
    "runbook_action": Severity.HIGH,
    "report": Severity.LOW,
}


class _LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    url: str


class InternalEvent(BaseModel):
    """An event the system raises itself (the node, a runbook, a function, a report)."""

    model_config = ConfigDict(extra="forbid")
    kind: Kind
    name: str = Field(min_length=1, max_length=200)
    summary: str = Field(min_length=1)
    severity: str | None = None  # default by kind; required for kind "alert"
    resource: str = ""
    state: Literal["firing", "resolved"] = "firing"
    at: AwareDatetime
    started_at: AwareDatetime | None = None
    value: str | None = None
    threshold: str | None = None
    description: str = ""
    runbook: str | None = None
    runbook_url: str | None = None
    actions: list[str] = []
    links: list[_LinkIn] = []
    details: dict[str, str] = {}
    id: str = ""  # the sender's own id, when one state change could repeat at one time


def parse_internal(payload: dict[str, Any]) -> Alert:
    try:
        ev = InternalEvent.model_validate(payload)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        raise UnreadableAlert(f"internal event: {where}: {first['msg']}") from None
    if ev.severity is not None:
        try:
            severity = parse_severity(ev.severity)
        except UnknownSeverity as err:
            raise UnreadableAlert(f"internal event: {err}") from None
    elif ev.kind in _KIND_SEVERITY:
        severity = _KIND_SEVERITY[ev.kind]
    else:
        known = lookup(ev.name)
        severity = known.severity if known else UNKNOWN_ALARM_SEVERITY
    return Alert(
        source="edge-ops",
        name=ev.name,
        resource=ev.resource,
        state=State(ev.state),
        severity=severity,
        summary=ev.summary,
        changed_at=ev.at.astimezone(UTC),
        started_at=ev.started_at.astimezone(UTC) if ev.started_at else None,
        value=ev.value,
        threshold=ev.threshold,
        description=ev.description,
        runbook=ev.runbook,
        runbook_url=ev.runbook_url,
        actions_taken=tuple(ev.actions),
        links=tuple(Link(link.text, link.url) for link in ev.links),
        details=(("kind", ev.kind), *sorted(ev.details.items())),
        fingerprint=ev.id,
    )


def _is_internal(payload: Any) -> bool:
    return isinstance(payload, dict) and "kind" in payload and "summary" in payload


def _parse_structured(payload: Any) -> list[Alert]:
    if is_cloudwatch_alarm(payload):
        return [parse_alarm(payload)]
    if is_alertmanager(payload):
        return parse_webhook(payload)
    if _is_internal(payload):
        return [parse_internal(payload)]
    raise UnreadableAlert("JSON that is no known alert (CloudWatch, Alertmanager, internal)")


_TEXT_LIMIT = 3000


def _text_alert(sns: dict[str, Any], message: str, problem: str | None) -> Alert:
    attrs = sns.get("MessageAttributes") or {}
    sev_attr = (attrs.get("severity") or {}).get("Value")
    try:
        severity = parse_severity(str(sev_attr)) if sev_attr else UNKNOWN_ALARM_SEVERITY
    except UnknownSeverity:
        severity = UNKNOWN_ALARM_SEVERITY
    topic = str(sns.get("TopicArn") or "").rsplit(":", 1)[-1]
    first_line = message.strip().splitlines()[0] if message.strip() else "(empty message)"
    try:
        at = parse_time(str(sns.get("Timestamp") or ""))
    except UnreadableAlert:
        at = datetime.now(UTC)
    details: list[tuple[str, str]] = [("topic", topic)] if topic else []
    if problem:
        details.append(("unreadable", problem))
    return Alert(
        source="sns",
        name=str(sns.get("Subject") or topic or "sns-message")[:200],
        resource="",
        state=State.FIRING,
        severity=severity,
        summary=first_line[:200],
        changed_at=at,
        description=message[:_TEXT_LIMIT],
        details=tuple(details),
        # one SNS message is one state change: a redelivery carries the same MessageId
        fingerprint=str(sns.get("MessageId") or ""),
    )


def parse_sns_record(record: dict[str, Any]) -> list[Alert]:
    """One SNS record into its alerts; never raises (an unreadable record becomes text)."""
    sns = record.get("Sns") or {}
    message = sns.get("Message")
    if not isinstance(message, str):
        return [_text_alert(sns, json.dumps(message), "SNS record without a string Message")]
    if alert_notice.is_notice(sns):
        try:
            return [parse_notice(alert_notice.read(sns))]
        except (alert_notice.UnreadableNotice, UnreadableAlert) as err:
            return [_text_alert(sns, message, str(err))]
    try:
        payload = json.loads(message)
    except ValueError:
        return [_text_alert(sns, message, None)]  # plain text is a normal SNS message
    try:
        return _parse_structured(payload)
    except UnreadableAlert as err:
        return [_text_alert(sns, message, str(err))]


def _function_url_body(event: dict[str, Any]) -> Any:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise UnreadableAlert("request body is not valid base64 text") from None
    try:
        return json.loads(body)
    except ValueError:
        raise UnreadableAlert("request body is not JSON") from None


def parse_event(event: Any) -> list[Alert]:
    """A Lambda event (SNS, direct, function URL) into alerts; raises UnreadableAlert for a
    direct event that is none of the known shapes (SNS records never raise)."""
    if not isinstance(event, dict):
        raise UnreadableAlert("event is not a JSON object")
    records = event.get("Records")
    if isinstance(records, list):
        alerts: list[Alert] = []
        for record in records:
            if not isinstance(record, dict) or record.get("EventSource") != "aws:sns":
                raise UnreadableAlert("a record that is not from SNS")
            alerts.extend(parse_sns_record(record))
        return alerts
    if "requestContext" in event and "body" in event:
        return _parse_structured(_function_url_body(event))
    return _parse_structured(event)
