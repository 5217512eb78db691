"""What started a runbook, read from the event (pure).

- a CloudWatch alarm's Lambda action (the alarm invokes the function directly: ``source``
  ``aws.cloudwatch`` with ``alarmData``), which is how infra/alarms.py wires them;
- the same alarm's state change delivered through SNS (``Records[].Sns.Message`` holding the
  alarm's JSON), for a runbook subscribed to a topic instead;
- a Prometheus alert: Alertmanager's webhook (version 4) posted to the function, each alert
  naming its runbook in the ``runbook`` annotation (or label) as shared/monitoring/rules.yml
  does; an alert's key is its fingerprint and ``startsAt``, and whether it still fires is the
  alert's own status (Prometheus alerts have no CloudWatch state to read back);
- the same alert as the edge host's Alertmanager publishes it to SNS (message attributes,
  shared/alert_notice.py), which is how infra/functions.py subscribes the runbooks;
- a person (``edge-ops runbook NAME``), with or without an alarm named.

The key of a state change (alarm name and the time it entered its state) makes a redelivery of
the same change the same run: it is what the once-record in DynamoDB is keyed on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from functions.common.errors import BadInput
from shared import alert_notice


class UnreadableTrigger(BadInput):
    """The event is no alarm this function understands: fix what invokes it."""


_THRESHOLD_RE = re.compile(r"the threshold \(([-+0-9.eE]+)\)")
_VALUE_RE = re.compile(r"datapoints? \[\s*([-+0-9.eE]+)\s*\(")


@dataclass(frozen=True, slots=True)
class Trigger:
    alarm: str | None  # the alarm's name; None when a person runs it without one
    state: str  # ALARM, OK, INSUFFICIENT_DATA (as the event said), or "MANUAL"
    changed_at: str  # when the alarm entered that state (the event's own text)
    reason: str
    source: str  # alarm | sns | person
    description: str = ""
    value: str | None = None  # the newest datapoint the reason quotes
    threshold: str | None = None
    metric: dict[str, Any] = field(default_factory=dict)
    fingerprint: str | None = None  # an Alertmanager alert's (its label set)
    runbook: str | None = None  # the runbook the alert names ("" none); None: not an alert

    @property
    def key(self) -> str:
        if self.fingerprint is not None:
            return f"{self.alarm}|{self.fingerprint}|{self.changed_at}"
        return f"{self.alarm or 'manual'}|{self.changed_at}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "alarm": self.alarm,
            "state": self.state,
            "changed_at": self.changed_at,
            "reason": self.reason,
            "source": self.source,
            "value": self.value,
            "threshold": self.threshold,
            "metric": self.metric,
            "fingerprint": self.fingerprint,
            "runbook": self.runbook,
        }


def _figures(reason: str) -> tuple[str | None, str | None]:
    value = _VALUE_RE.search(reason)
    threshold = _THRESHOLD_RE.search(reason)
    return (value.group(1) if value else None, threshold.group(1) if threshold else None)


def _from_lambda_action(event: dict[str, Any]) -> Trigger:
    from aws_lambda_powertools.utilities.data_classes import CloudWatchAlarmEvent

    try:
        data = CloudWatchAlarmEvent(event).alarm_data
        state = data.state
        metrics = data.configuration.metrics or []
        metric = metrics[0].metric_stat.metric if metrics and "metricStat" in metrics[0] else {}
        reason = state.reason
        value, threshold = _figures(reason)
        return Trigger(
            alarm=data.alarm_name,
            state=state.value,
            changed_at=state.timestamp,
            reason=reason,
            source="alarm",
            description=data.configuration.description or "",
            value=value,
            threshold=threshold,
            metric=dict(metric),
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise UnreadableTrigger(f"CloudWatch alarm event without {err}") from None


def _from_alarm_message(message: dict[str, Any]) -> Trigger:
    try:
        reason = str(message.get("NewStateReason") or "")
        value, threshold = _figures(reason)
        trigger = message.get("Trigger") or {}
        metric = {
            "namespace": trigger.get("Namespace"),
            "name": trigger.get("MetricName"),
        }
        if trigger.get("Threshold") is not None and threshold is None:
            threshold = str(trigger["Threshold"])
        return Trigger(
            alarm=str(message["AlarmName"]),
            state=str(message["NewStateValue"]),
            changed_at=str(message["StateChangeTime"]),
            reason=reason,
            source="sns",
            description=str(message.get("AlarmDescription") or ""),
            value=value,
            threshold=threshold,
            metric=metric,
        )
    except KeyError as err:
        raise UnreadableTrigger(f"CloudWatch alarm message without {err}") from None


def _text(d: Any, key: str) -> str:
    v = d.get(key) if isinstance(d, dict) else None
    return v if isinstance(v, str) else ""


def _from_alertmanager(event: dict[str, Any]) -> list[Trigger]:
    alerts = event.get("alerts")
    if not isinstance(alerts, list):
        raise UnreadableTrigger("an Alertmanager webhook without its alerts list")
    out = []
    for alert in alerts:
        if not isinstance(alert, dict):
            raise UnreadableTrigger("an Alertmanager alert that is not a JSON object")
        labels, notes = alert.get("labels"), alert.get("annotations")
        name, status = _text(labels, "alertname"), _text(alert, "status")
        starts, fingerprint = _text(alert, "startsAt"), _text(alert, "fingerprint")
        missing = [
            k
            for k, v in (
                ("labels.alertname", name),
                ("status", status),
                ("startsAt", starts),
                ("fingerprint", fingerprint),
            )
            if not v
        ]
        if missing:
            raise UnreadableTrigger(f"an Alertmanager alert without {', '.join(missing)}")
        out.append(
            Trigger(
                alarm=name,
                state=status,
                changed_at=starts,
                reason=_text(notes, "summary") or name,
                source="alertmanager",
                description=_text(notes, "description"),
                value=_text(notes, "value") or None,
                threshold=_text(notes, "threshold") or None,
                metric={"labels": dict(labels) if isinstance(labels, dict) else {}},
                fingerprint=fingerprint,
                runbook=_text(notes, "runbook") or _text(labels, "runbook"),
            )
        )
    return out


def _from_notice(sns: dict[str, Any]) -> Trigger:
    """An alert the edge host's Alertmanager published to SNS (shared/alert_notice.py)."""
    try:
        notice = alert_notice.read(sns)
    except alert_notice.UnreadableNotice as err:
        raise UnreadableTrigger(str(err)) from None
    notes = notice.annotations
    labels = {"alertname": notice.alertname, **notice.labels}
    if notice.severity:
        labels["severity"] = notice.severity
    return Trigger(
        alarm=notice.alertname,
        state=notice.status,
        changed_at=notice.starts_at,
        reason=notes.get("summary") or notice.headline or notice.alertname,
        source="alertmanager",
        description=notes.get("description", ""),
        value=notes.get("value") or None,
        threshold=notes.get("threshold") or None,
        metric={"labels": labels},
        fingerprint=notice.fingerprint,
        runbook=notice.runbook or "",
    )


def parse_trigger(event: Any) -> list[Trigger]:
    """The alarm state changes in ``event`` (SNS may carry several); ``UnreadableTrigger``
    when it is none of the shapes above."""
    if not isinstance(event, dict):
        raise UnreadableTrigger("the event is not a JSON object")
    if "alerts" in event and str(event.get("version", "4")) == "4":
        return _from_alertmanager(event)
    if event.get("source") == "aws.cloudwatch" and "alarmData" in event:
        return [_from_lambda_action(event)]
    records = event.get("Records")
    if isinstance(records, list):
        out = []
        for record in records:
            sns = record.get("Sns") if isinstance(record, dict) else None
            if not isinstance(sns, dict):
                raise UnreadableTrigger("a record that is not an SNS notification")
            if alert_notice.is_notice(sns):
                out.append(_from_notice(sns))
                continue
            try:
                message = json.loads(str(sns.get("Message")))
            except ValueError:
                raise UnreadableTrigger("an SNS message that is not an alarm's JSON") from None
            if not isinstance(message, dict) or "AlarmName" not in message:
                raise UnreadableTrigger("an SNS message that is not a CloudWatch alarm")
            out.append(_from_alarm_message(message))
        return out
    if "AlarmName" in event and "NewStateValue" in event:
        return [_from_alarm_message(event)]
    raise UnreadableTrigger(
        "not a CloudWatch alarm event (Lambda action, or its SNS notification), "
        "nor an Alertmanager webhook"
    )


def by_person(alarm: str | None, reason: str, at: str) -> Trigger:
    return Trigger(alarm=alarm, state="MANUAL", changed_at=at, reason=reason, source="person")


def parse_time(text: str) -> datetime:
    """AWS's times ("2026-11-30T04:05:12.436+0000", "...Z") as aware datetimes."""
    t = text.strip().replace("Z", "+00:00")
    if len(t) > 5 and t[-5] in "+-" and t[-3] != ":":
        t = f"{t[:-2]}:{t[-2:]}"
    at = datetime.fromisoformat(t)
    if at.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone")
    return at.astimezone(UTC)
