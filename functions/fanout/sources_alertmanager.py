"""Prometheus Alertmanager alerts into :class:`Alert`, one per alert: from its webhook
(payload version 4), and from its SNS receiver (shared/alert_notice.py, the edge host's way).

Pure. A group carries several alerts, firing and resolved; each becomes its own alert keyed
by its fingerprint (the hash of its labels), so two instances of one rule are two PagerDuty
incidents, not one merged under the group's key (alertmanager #2874).
"""

from __future__ import annotations

from typing import Any

from functions.fanout.alert import Alert, Link, State, UnknownSeverity, parse_severity
from functions.fanout.routing import UNKNOWN_ALARM_SEVERITY, lookup
from functions.fanout.sources_cloudwatch import UnreadableAlert, parse_time
from shared.alert_notice import AlertNotice

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
    return _build(
        labels,
        annotations,
        state=State(status),
        starts_text=str(item.get("startsAt") or _ZERO_TIME),
        ends_text=str(item.get("endsAt") or _ZERO_TIME),
        fingerprint=str(item.get("fingerprint") or ""),
        links=_links(str(item.get("generatorURL") or ""), external),
    )


def _links(generator: str, external: str) -> tuple[Link, ...]:
    links: list[Link] = []
    if generator:
        links.append(Link("Prometheus query", generator))
    if external:
        links.append(Link("Alertmanager", external))
    return tuple(links)


def parse_notice(notice: AlertNotice) -> Alert:
    """An alert the edge host's Alertmanager published to SNS (shared/alert_notice.py)."""
    labels = {"alertname": notice.alertname, **notice.labels}
    if notice.severity:
        labels["severity"] = notice.severity
    annotations = dict(notice.annotations)
    if notice.runbook:
        annotations.setdefault("runbook", notice.runbook)
    if not annotations.get("summary") and notice.headline:
        annotations["summary"] = notice.headline
    return _build(
        labels,
        annotations,
        state=State(notice.status),
        starts_text=notice.starts_at,
        ends_text=notice.ends_at or _ZERO_TIME,
        fingerprint=notice.fingerprint,
        links=(),
    )


def _build(
    labels: dict[str, str],
    annotations: dict[str, str],
    *,
    state: State,
    starts_text: str,
    ends_text: str,
    fingerprint: str,
    links: tuple[Link, ...],
) -> Alert:
    name = labels["alertname"]
    starts = parse_time(starts_text)
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
    details = tuple((k, v) for k, v in sorted(labels.items()) if k not in ("alertname", "severity"))
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
        runbook_url=annotations.get("runbook_url"),
        links=links,
        details=details,
        # the fingerprint tells apart alerts whose resource labels coincide
        fingerprint=fingerprint,
    )
