"""CloudWatch alarm state changes (the JSON an alarm publishes to SNS) into :class:`Alert`.

Pure. The alarm's description may carry ``severity: critical`` and ``runbook: node-down``
(the Pulumi alarms set them); otherwise the catalogue by alarm name decides.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from functions.fanout.alert import (
    Alert,
    Link,
    Severity,
    State,
    UnknownSeverity,
    parse_severity,
)
from functions.fanout.routing import UNKNOWN_ALARM_SEVERITY, lookup


class UnreadableAlert(ValueError):
    """The payload is not an alert this source understands: the caller must fix the sender."""


_TIME_RE = re.compile(
    r"^(?P<base>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})"
    r"(?:\.(?P<frac>\d+))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> datetime:
    """ISO/RFC 3339 times as AWS ("+0000", milliseconds) and Prometheus (nanoseconds, "Z")
    write them, to an aware UTC datetime."""
    m = _TIME_RE.match(text.strip())
    if not m:
        raise UnreadableAlert(f"not a timestamp: {text!r}")
    frac = (m["frac"] or "")[:6].ljust(6, "0")
    tz = m["tz"] or "Z"
    if tz == "Z":
        tz = "+00:00"
    elif ":" not in tz:
        tz = f"{tz[:3]}:{tz[3:]}"
    return datetime.fromisoformat(f"{m['base'].replace(' ', 'T')}.{frac}{tz}").astimezone(UTC)


_OPERATORS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    "LessThanLowerOrGreaterThanUpperThreshold": "outside the band",
    "LessThanLowerThreshold": "below the band",
    "GreaterThanUpperThreshold": "above the band",
}

_STATES = {"ALARM": State.FIRING, "OK": State.RESOLVED, "INSUFFICIENT_DATA": State.FIRING}
_TAG_RE = re.compile(r"^\s*(severity|runbook)\s*[:=]\s*(\S+)\s*$", re.IGNORECASE | re.MULTILINE)
# "... 3 datapoints [0.0 (02/12/26 02:58:00), 0.0 (...)] were less than ..." -> newest first
_DATAPOINT_RE = re.compile(r"\[\s*([-+0-9.eE]+)\s*\(")
_REGION_RE = re.compile(r"^arn:aws[a-z-]*:cloudwatch:([a-z0-9-]+):")


def is_cloudwatch_alarm(message: Any) -> bool:
    return isinstance(message, dict) and "AlarmName" in message and "NewStateValue" in message


def _fmt_number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_alarm(message: dict[str, Any]) -> Alert:
    try:
        name = str(message["AlarmName"])
        new_state = str(message["NewStateValue"])
        changed_at = parse_time(str(message["StateChangeTime"]))
    except KeyError as missing:
        raise UnreadableAlert(f"CloudWatch alarm message without {missing}") from None
    if new_state not in _STATES:
        raise UnreadableAlert(f"CloudWatch alarm {name!r} in unknown state {new_state!r}")

    description = str(message.get("AlarmDescription") or "")
    tags = {k.lower(): v for k, v in _TAG_RE.findall(description)}
    prose = _TAG_RE.sub("", description).strip()

    known = lookup(name)
    try:
        severity = (
            parse_severity(tags["severity"])
            if "severity" in tags
            else (known.severity if known else UNKNOWN_ALARM_SEVERITY)
        )
    except UnknownSeverity as err:
        raise UnreadableAlert(f"CloudWatch alarm {name!r}: {err}") from None
    if new_state == "INSUFFICIENT_DATA" and severity is Severity.CRITICAL:
        # the alarm cannot tell: worth a look, not a page (heartbeats treat missing data
        # as breaching, so a silent probe still reaches ALARM and pages)
        severity = Severity.MEDIUM

    trigger = message.get("Trigger") or {}
    dims = trigger.get("Dimensions") or []
    resource = ",".join(
        f"{d.get('name', d.get('Name', ''))}={d.get('value', d.get('Value', ''))}"
        for d in dims
        if isinstance(d, dict)
    )
    threshold = None
    if "Threshold" in trigger:
        op = _OPERATORS.get(str(trigger.get("ComparisonOperator")), "vs")
        threshold = f"{op} {_fmt_number(trigger['Threshold'])}"
        metric = trigger.get("MetricName")
        if metric:
            threshold = f"{metric} {threshold}"
    reason = str(message.get("NewStateReason") or "")
    value = None
    point = _DATAPOINT_RE.search(reason)
    if point:
        value = point.group(1)
    elif "no datapoints were received" in reason:
        value = "no data"

    links: list[Link] = []
    region = _REGION_RE.match(str(message.get("AlarmArn") or ""))
    if region:
        code = region.group(1)
        links.append(
            Link(
                "CloudWatch alarm",
                f"https://{code}.console.aws.amazon.com/cloudwatch/home?region={code}"
                f"#alarmsV2:alarm/{name}",
            )
        )

    state = _STATES[new_state]
    old = str(message.get("OldStateValue") or "?")
    summary = prose.splitlines()[0] if prose else name
    if new_state == "INSUFFICIENT_DATA":
        summary = f"{summary} (insufficient data)"
    return Alert(
        source="cloudwatch",
        name=name,
        resource=resource,
        state=state,
        severity=severity,
        summary=summary,
        changed_at=changed_at,
        started_at=changed_at if state is State.FIRING else None,
        value=value,
        threshold=threshold,
        description=reason,
        runbook=tags.get("runbook") or (known.runbook if known else None),
        links=tuple(links),
        details=(("transition", f"{old} -> {new_state}"),),
    )
