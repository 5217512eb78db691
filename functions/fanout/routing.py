"""Who hears about what: the routing table by severity, and the catalogue of known alarms.

Pure: no I/O. This is the one place that says which channels a severity reaches (README,
"Operations: alerts", quotes it); tests check the table against the seeds' rules.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from functions.fanout.alert import Alert, Severity


class Channel(enum.Enum):
    PAGERDUTY = "pagerduty"
    SLACK = "slack"
    TELEGRAM = "telegram"
    EMAIL = "email"


# Seeds: S1/P0 pages the on-call (002 "Respond to PagerDuty alerts within 15 minutes") and is
# posted where the team reads; S2/P1 "Slack alert" (004) and Telegram for the phone; S3/P2 the
# team channel; S4/P3 and reports the channel and e-mail (004 P2/P3: e-mail, a ticket).
# E-mail is sent only when recipients are configured (Slack always is).
ROUTES: dict[Severity, tuple[Channel, ...]] = {
    Severity.CRITICAL: (Channel.PAGERDUTY, Channel.SLACK, Channel.TELEGRAM),
    Severity.HIGH: (Channel.SLACK, Channel.TELEGRAM),
    Severity.MEDIUM: (Channel.SLACK,),
    Severity.LOW: (Channel.SLACK, Channel.EMAIL),
}

# A channel a route may skip when it is not configured; the others are required.
OPTIONAL_CHANNELS = frozenset({Channel.EMAIL})


def channels_for(alert: Alert, configured: frozenset[Channel]) -> tuple[Channel, ...]:
    """The channels this alert goes to; optional ones only when configured."""
    return tuple(
        ch for ch in ROUTES[alert.severity] if ch in configured or ch not in OPTIONAL_CHANNELS
    )


@dataclass(frozen=True, slots=True)
class KnownAlarm:
    severity: Severity
    runbook: str | None  # the issue 9 §3 runbook an alarm of this kind triggers


# Alarms from the seeds (000 critical/warning thresholds, 001 and 003 Prometheus rules, 003's
# response matrix, 004's P0-P3) and ours, by name with case and separators ignored. Used when
# the source does not say the severity itself (CloudWatch alarms carry none).
CATALOGUE: dict[str, KnownAlarm] = {
    # S1/P0: system down, emergency stop, corruption, paper-trading violation, loss limit
    "tradingbotdown": KnownAlarm(Severity.CRITICAL, "node-down"),
    "servicedown": KnownAlarm(Severity.CRITICAL, "node-down"),
    "nodedown": KnownAlarm(Severity.CRITICAL, "node-down"),
    "healthzfailing": KnownAlarm(Severity.CRITICAL, "node-down"),
    "databasedown": KnownAlarm(Severity.CRITICAL, None),
    "databaseconnectionfailed": KnownAlarm(Severity.CRITICAL, None),
    "papertradingviolation": KnownAlarm(Severity.CRITICAL, "emergency-stop"),
    "losslimit": KnownAlarm(Severity.CRITICAL, "emergency-stop"),
    "lossabovelimit": KnownAlarm(Severity.CRITICAL, "emergency-stop"),
    "keycompromise": KnownAlarm(Severity.CRITICAL, "emergency-stop"),
    "emergencystopactive": KnownAlarm(Severity.CRITICAL, None),
    "emergencystop": KnownAlarm(Severity.CRITICAL, None),
    "datacorruption": KnownAlarm(Severity.CRITICAL, None),
    "backupcorrupt": KnownAlarm(Severity.CRITICAL, None),
    "higherrorrate": KnownAlarm(Severity.CRITICAL, None),
    "probemissing": KnownAlarm(Severity.CRITICAL, None),
    # S2/P1: degradation, stale data, lost connections
    "rpclag": KnownAlarm(Severity.HIGH, "pause-trading"),
    "rpcheadlag": KnownAlarm(Severity.HIGH, "pause-trading"),
    "marketdatastale": KnownAlarm(Severity.HIGH, "pause-trading"),
    "pricestale": KnownAlarm(Severity.HIGH, "pause-trading"),
    "exchangeconnectionlost": KnownAlarm(Severity.HIGH, None),
    "websocketreconnectstorm": KnownAlarm(Severity.HIGH, None),
    "backupstale": KnownAlarm(Severity.HIGH, None),
    "functionfailed": KnownAlarm(Severity.HIGH, None),
    "secretrotationfailed": KnownAlarm(Severity.HIGH, None),
    # S3/P2
    "highmemoryusage": KnownAlarm(Severity.MEDIUM, None),
    "slowdatabasequeries": KnownAlarm(Severity.MEDIUM, None),
    "databasesize": KnownAlarm(Severity.MEDIUM, "prune"),
    "diskspacewarning": KnownAlarm(Severity.MEDIUM, "prune"),
    # S4/P3
    "slowresponse": KnownAlarm(Severity.LOW, None),
    "slowresponsetime": KnownAlarm(Severity.LOW, None),
    "secretage": KnownAlarm(Severity.LOW, None),
}

# An alarm nobody catalogued is not quietly low: it reaches Slack and Telegram.
UNKNOWN_ALARM_SEVERITY = Severity.HIGH


def _normalise(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lookup(name: str) -> KnownAlarm | None:
    """The catalogue entry for an alarm name; a stack prefix ("edge-prod-NodeDown") is allowed."""
    key = _normalise(name)
    if key in CATALOGUE:
        return CATALOGUE[key]
    # the longest catalogued name the alarm name ends with (stacks prefix their alarms)
    for known in sorted(CATALOGUE, key=len, reverse=True):
        if key.endswith(known):
            return CATALOGUE[known]
    return None
