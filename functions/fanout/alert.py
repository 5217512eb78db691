"""The one internal alert shape every source is parsed into, and the severity scale.

Pure: no I/O. Parsers (``sources_*.py``) build an :class:`Alert`; routing, formatting and
delivery read only this shape, so a new source never touches them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Severity(enum.Enum):
    """The seeds' four levels: 000 names them S1-S4, 002 and 004 P0-P3, Prometheus rules
    critical/warning/info."""

    CRITICAL = "critical"  # S1 / P0: system down, emergency stop, corruption, loss limit
    HIGH = "high"  # S2 / P1 (Prometheus "warning")
    MEDIUM = "medium"  # S3 / P2
    LOW = "low"  # S4 / P3, info, reports

    @property
    def seeds_name(self) -> str:
        return _SEEDS_NAME[self]


_SEEDS_NAME = {
    Severity.CRITICAL: "S1/P0",
    Severity.HIGH: "S2/P1",
    Severity.MEDIUM: "S3/P2",
    Severity.LOW: "S4/P3",
}

# Every spelling the seeds, Prometheus rules and PagerDuty use, to one level.
_SEVERITY_ALIASES: dict[str, Severity] = {
    "critical": Severity.CRITICAL,
    "crit": Severity.CRITICAL,
    "s1": Severity.CRITICAL,
    "p0": Severity.CRITICAL,
    "page": Severity.CRITICAL,
    "high": Severity.HIGH,
    "warning": Severity.HIGH,
    "warn": Severity.HIGH,
    "error": Severity.HIGH,
    "s2": Severity.HIGH,
    "p1": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "s3": Severity.MEDIUM,
    "p2": Severity.MEDIUM,
    "low": Severity.LOW,
    "info": Severity.LOW,
    "s4": Severity.LOW,
    "p3": Severity.LOW,
    "none": Severity.LOW,
}


class UnknownSeverity(ValueError):
    """The given severity is none of the known spellings: the caller must name a real level."""


def parse_severity(text: str) -> Severity:
    try:
        return _SEVERITY_ALIASES[text.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(_SEVERITY_ALIASES))
        raise UnknownSeverity(f"unknown severity {text!r} (known: {known})") from None


class State(enum.Enum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True, slots=True)
class Alert:
    """What an operator needs at 3 a.m., whatever raised it.

    ``identity`` is what makes one state change unique (source, alarm, resource, state and
    the time of the change): a duplicate delivery of the same change has the same identity,
    so it is delivered once per channel. ``dedup_key`` is stable across the change (the same
    for firing and resolved) so PagerDuty resolves the incident the trigger opened; it is per
    resource, so two instances of one alert are two incidents.
    """

    source: str  # cloudwatch | alertmanager | edge-ops | sns
    name: str  # the alarm or alert name
    resource: str  # what is affected (node, endpoint, instance); "" when global
    state: State
    severity: Severity
    summary: str  # what happened, one line
    changed_at: datetime  # when this state began (aware, UTC)
    started_at: datetime | None = None  # when the problem began, if known
    value: str | None = None  # the current value, as the source gave it
    threshold: str | None = None  # the limit it crossed, with its comparison
    description: str = ""  # longer text (the alarm's reason, the rule's description)
    runbook: str | None = None  # the runbook that applies (name)
    runbook_url: str | None = None
    actions_taken: tuple[str, ...] = ()  # what the machine already did
    links: tuple[Link, ...] = ()
    details: tuple[tuple[str, str], ...] = field(default=())  # extra labels, in order
    fingerprint: str = ""  # the source's own id of the alert (Alertmanager's label hash)

    @property
    def dedup_key(self) -> str:
        # PagerDuty caps dedup_key at 255 characters.
        parts = (self.source, self.name, self.resource, self.fingerprint)
        return "/".join(p for p in parts if p)[:255]

    @property
    def identity(self) -> str:
        return "|".join(
            (
                self.source,
                self.name,
                self.resource,
                self.fingerprint,
                self.state.value,
                self.changed_at.isoformat(),
            )
        )


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """JSON-ready (dead letters, the CLI's --json); read back with :func:`alert_from_dict`."""
    return {
        "source": alert.source,
        "name": alert.name,
        "resource": alert.resource,
        "state": alert.state.value,
        "severity": alert.severity.value,
        "summary": alert.summary,
        "changed_at": alert.changed_at.isoformat(),
        "started_at": alert.started_at.isoformat() if alert.started_at else None,
        "value": alert.value,
        "threshold": alert.threshold,
        "description": alert.description,
        "runbook": alert.runbook,
        "runbook_url": alert.runbook_url,
        "actions_taken": list(alert.actions_taken),
        "links": [{"text": link.text, "url": link.url} for link in alert.links],
        "details": [list(kv) for kv in alert.details],
        "fingerprint": alert.fingerprint,
    }


def alert_from_dict(data: dict[str, Any]) -> Alert:
    started = data.get("started_at")
    return Alert(
        source=str(data["source"]),
        name=str(data["name"]),
        resource=str(data["resource"]),
        state=State(data["state"]),
        severity=Severity(data["severity"]),
        summary=str(data["summary"]),
        changed_at=datetime.fromisoformat(data["changed_at"]),
        started_at=datetime.fromisoformat(started) if started else None,
        value=data.get("value"),
        threshold=data.get("threshold"),
        description=str(data.get("description", "")),
        runbook=data.get("runbook"),
        runbook_url=data.get("runbook_url"),
        actions_taken=tuple(data.get("actions_taken", ())),
        links=tuple(Link(str(x["text"]), str(x["url"])) for x in data.get("links", ())),
        details=tuple((str(k), str(v)) for k, v in data.get("details", ())),
        fingerprint=str(data.get("fingerprint", "")),
    )
