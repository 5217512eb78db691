"""Prometheus Alertmanager webhooks (payload version 4) into :class:`Alert`, one per alert.

Pure. A group carries several alerts, firing and resolved; each becomes its own alert keyed
by its fingerprint (the hash of its labels), so two instances of one rule are two PagerDuty
incidents, not one merged under the group's key (alertmanager #2874).
"""

from __future__ import annotations

from typing import Any

from functions.fanout.alert import Alert, Link, State, UnknownSeverity, parse_severity
from functions.fanout.routing import UNKNOWN_ALARM_SEVERITY, lookup
from functions.fanout.sources_cloudwatch import UnreadableAlert, parse_time

# Labels that name what is affected, most specific first.
_RESOURCE_LABELS = ("instance", "endpoint", "node", "pod", "pool", "pair", "job")
_ZERO_TIME = "0001-01-01T00:00:00Z"


def is_alertmanager(payload: Any) -> bool:
    return isinstance(payload, dict) and "alerts" in payload and "groupKey" in payload


def parse_webhook(payload: dict[str, Any]) -> list[Alert]:
    version = str(payload.get("version", ""))
    if version != "4":
        raise UnreadableAlert(f"Alertmanager webhook version {version!r}; only version 4 is read")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list) or not alerts:
        raise UnreadableAlert("Alertmanager webhook without alerts")
    common_annotations = payload.get("commonAnnotations") or {}
    external = str(payload.get("externalURL") or "")
    return [_parse_one(a, common_annotations, external) for a in alerts]


def _parse_one(item: Any, common_annotations: dict[str, Any], external: str) -> Alert:
    if not isinstance(item, dict):
        raise UnreadableAlert("Alertmanager alert is not an object")
    labels: dict[str, str] = {str(k): str(v) for k, v in (item.get("labels") or {}).items()}
    annotations: dict[str, str] = {
        str(k): str(v) for k, v in {**common_annotations, **(item.get("annotations") or {})}.items()
    }
    name = labels.get("alertname")
    if not name:
        raise UnreadableAlert("Alertmanager alert without an alertname label")
    status = str(item.get("status", ""))
    if status not in ("firing", "resolved"):
        raise UnreadableAlert(f"Alertmanager alert {name!r} with status {status!r}")
    state = State(status)
    starts = parse_time(str(item.get("startsAt") or _ZERO_TIME))
    ends_text = str(item.get("endsAt") or _ZERO_TIME)
    if state is State.RESOLVED:
        if ends_text.startswith("0001-"):
            raise UnreadableAlert(f"resolved Alertmanager alert {name!r} without endsAt")
        changed_at = parse_time(ends_text)
    else:
        changed_at = starts

    known = lookup(name)
    try:
        severity = (
            parse_severity(labels["severity"])
            if "severity" in labels
            else (known.severity if known else UNKNOWN_ALARM_SEVERITY)
        )
    except UnknownSeverity as err:
        raise UnreadableAlert(f"Alertmanager alert {name!r}: {err}") from None

    resource = next((labels[k] for k in _RESOURCE_LABELS if labels.get(k)), "")

    links: list[Link] = []
    if item.get("generatorURL"):
        links.append(Link("Prometheus query", str(item["generatorURL"])))
    if external:
        links.append(Link("Alertmanager", external))
    details = tuple((k, v) for k, v in sorted(labels.items()) if k not in ("alertname", "severity"))
    runbook_url = annotations.get("runbook_url")
    return Alert(
        source="alertmanager",
        name=name,
        resource=resource,
        state=state,
        severity=severity,
        summary=annotations.get("summary") or name,
        changed_at=changed_at,
        started_at=starts,
        value=annotations.get("value"),
        threshold=annotations.get("threshold"),
        description=annotations.get("description", ""),
        runbook=annotations.get("runbook") or (known.runbook if known else None),
        runbook_url=runbook_url,
        links=tuple(links),
        details=details,
        # the fingerprint tells apart alerts whose resource labels coincide
        fingerprint=str(item.get("fingerprint") or ""),
    )
