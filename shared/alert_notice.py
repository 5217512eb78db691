"""An Alertmanager alert delivered through SNS: the contract between the edge host's
Alertmanager (its SNS receivers, written by infra/monitoring/alertmanager_sns.py) and the
functions that read the topics (the fan-out, the runbooks). Pure.

Alertmanager's SNS receiver publishes text, not its webhook's JSON, and Go templates have no
JSON escaping in the Alertmanager the rules are tested with (0.25). So what a reader must decide
on travels as SNS message attributes, one alert per message (``group_by: ['...']``):

- ``source`` = ``alertmanager`` marks the message; ``alertname``, ``severity``, ``status``
  (``firing`` or ``resolved``), ``runbook``, ``fingerprint``, ``starts_at``, ``ends_at``
  (RFC 3339, as the webhook writes them). SNS refuses an empty attribute, so an absent value
  is written as ``none``. The runbooks' subscriptions filter on ``source``, ``runbook`` and
  ``status``, so a resolution never starts a runbook.
- The body, for people (the critical topic's e-mail) and for details: a first line saying what
  happened, then ``label.<name>: <value>`` and ``annotation.<name>: <value>`` lines. A line
  that is neither continues the previous value (a multi-line description).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SOURCE = "alertmanager"
NONE = "none"
ATTRIBUTES = (
    "source",
    "alertname",
    "severity",
    "status",
    "runbook",
    "fingerprint",
    "starts_at",
    "ends_at",
)
REQUIRED = ("alertname", "status", "fingerprint", "starts_at")
STATUSES = ("firing", "resolved")
LABEL, ANNOTATION = "label.", "annotation."


class UnreadableNotice(ValueError):
    """The message says it is from Alertmanager but lacks what a reader needs: deliver it as
    text and fix the receiver's template (infra/monitoring/alertmanager_sns.py)."""


@dataclass(frozen=True)
class AlertNotice:
    alertname: str
    status: str  # firing | resolved
    fingerprint: str
    starts_at: str
    severity: str | None = None
    runbook: str | None = None
    ends_at: str | None = None
    headline: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)


def _attribute(attrs: Mapping[str, Any], name: str) -> str | None:
    entry = attrs.get(name)
    value = entry.get("Value") if isinstance(entry, Mapping) else None
    if not isinstance(value, str) or not value.strip() or value.strip() == NONE:
        return None
    return value.strip()


def is_notice(sns: Mapping[str, Any]) -> bool:
    """Whether an SNS notification (a Lambda record's ``Sns``, or the envelope SNS writes to
    SQS) says it is an Alertmanager alert."""
    attrs = sns.get("MessageAttributes")
    return isinstance(attrs, Mapping) and _attribute(attrs, "source") == SOURCE


def parse_body(text: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The headline, the labels and the annotations of a notice's body; never raises."""
    lines = text.splitlines()
    headline = lines[0].strip() if lines else ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    last: tuple[dict[str, str], str] | None = None
    for line in lines[1:]:
        for prefix, into in ((LABEL, labels), (ANNOTATION, annotations)):
            if line.startswith(prefix) and ": " in line:
                name, _, value = line[len(prefix) :].partition(": ")
                into[name] = value
                last = (into, name)
                break
        else:
            if last is not None:
                into, name = last
                into[name] += "\n" + line
    return headline, labels, annotations


def read(sns: Mapping[str, Any]) -> AlertNotice:
    """The alert in an SNS notification that :func:`is_notice`; ``UnreadableNotice`` if a
    required attribute is missing or the status is neither firing nor resolved."""
    attrs = sns.get("MessageAttributes")
    if not isinstance(attrs, Mapping):
        raise UnreadableNotice("an Alertmanager notice without message attributes")
    values = {name: _attribute(attrs, name) for name in ATTRIBUTES}
    missing = [name for name in REQUIRED if values[name] is None]
    if missing:
        raise UnreadableNotice(f"an Alertmanager notice without {', '.join(missing)}")
    status = values["status"]
    if status not in STATUSES:
        raise UnreadableNotice(f"an Alertmanager notice with status {status!r}")
    message = sns.get("Message")
    headline, labels, annotations = parse_body(message if isinstance(message, str) else "")
    return AlertNotice(
        alertname=str(values["alertname"]),
        status=str(status),
        fingerprint=str(values["fingerprint"]),
        starts_at=str(values["starts_at"]),
        severity=values["severity"],
        runbook=values["runbook"],
        ends_at=values["ends_at"],
        headline=headline,
        labels=labels,
        annotations=annotations,
    )
