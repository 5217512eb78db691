"""Each channel's message for an alert (pure; no secrets here: keys are added when sending).

What an operator needs at 3 a.m., in every channel: what, since when, the value against its
threshold, the runbook that applies and what the machine already did, links. Times are UTC and
say so. Snapshot-tested (tests/functions/fanout/snapshots/).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from functions.fanout.alert import Alert, Severity, State

_PD_SEVERITY = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
}
_ICON = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":warning:",
    Severity.MEDIUM: ":large_orange_diamond:",
    Severity.LOW: ":information_source:",
}
_TELEGRAM_LIMIT = 4096
_SLACK_HEADER_LIMIT = 150
_PD_SUMMARY_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class FormatContext:
    runbook_base_url: str | None = None  # e.g. the README's "Operations" section

    def runbook_url(self, alert: Alert) -> str | None:
        if alert.runbook_url:
            return alert.runbook_url
        if alert.runbook and self.runbook_base_url:
            return f"{self.runbook_base_url}#runbook-{alert.runbook}"
        return None


def utc(when: datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


def title(alert: Alert) -> str:
    state = "RESOLVED" if alert.state is State.RESOLVED else "FIRING"
    where = f" ({alert.resource})" if alert.resource else ""
    return (
        f"[{alert.severity.value.upper()} {alert.severity.seeds_name}] {state}: {alert.name}{where}"
    )


def facts(alert: Alert, ctx: FormatContext) -> list[tuple[str, str]]:
    """The labelled lines every channel shows, in order, empty ones left out."""
    rows: list[tuple[str, str]] = [("What", alert.summary)]
    if alert.state is State.RESOLVED:
        since = f"resolved {utc(alert.changed_at)}"
        if alert.started_at:
            lasted = (alert.changed_at - alert.started_at).total_seconds()
            since += f", firing since {utc(alert.started_at)} ({_duration(lasted)})"
        rows.append(("When", since))
    else:
        rows.append(("Since", utc(alert.started_at or alert.changed_at)))
    if alert.value is not None or alert.threshold is not None:
        rows.append(("Value", f"{alert.value or '?'} (threshold: {alert.threshold or '?'})"))
    if alert.description and alert.description != alert.summary:
        rows.append(("Detail", alert.description))
    url = ctx.runbook_url(alert)
    if alert.runbook or url:
        rows.append(("Runbook", " ".join(p for p in (alert.runbook, url) if p)))
    if alert.actions_taken:
        rows.append(("Already done", "; ".join(alert.actions_taken)))
    if alert.details:
        rows.append(("Labels", ", ".join(f"{k}={v}" for k, v in alert.details)))
    rows.append(("Source", f"{alert.source}, key {alert.dedup_key}"))
    return rows


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(alert: Alert, ctx: FormatContext) -> dict[str, Any]:
    head = title(alert)
    icon = ":white_check_mark:" if alert.state is State.RESOLVED else _ICON[alert.severity]
    lines = [f"*{k}:* {_slack_escape(v)}" for k, v in facts(alert, ctx)]
    links = " | ".join(f"<{link.url}|{_slack_escape(link.text)}>" for link in alert.links)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": head[:_SLACK_HEADER_LIMIT]},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
    ]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": links}]})
    # "text" is what notifications and clients without blocks show
    return {
        "text": f"{icon} {_slack_escape(head)}: {_slack_escape(alert.summary)}",
        "blocks": blocks,
    }


def telegram_text(alert: Alert, ctx: FormatContext) -> str:
    """HTML parse mode (only <b>, <a> used; everything else escaped)."""
    esc = html.escape
    parts = [f"<b>{esc(title(alert))}</b>"]
    parts += [f"<b>{esc(k)}:</b> {esc(v)}" for k, v in facts(alert, ctx)]
    parts += [f'<a href="{esc(link.url)}">{esc(link.text)}</a>' for link in alert.links]
    text = "\n".join(parts)
    if len(text) > _TELEGRAM_LIMIT:
        # cut on a line boundary so no tag is left open
        text = text[: _TELEGRAM_LIMIT - 2].rsplit("\n", 1)[0] + "\n…"
    return text


def pagerduty_event(alert: Alert, ctx: FormatContext) -> dict[str, Any]:
    """Events API v2 body without its routing_key. A resolve carries the trigger's dedup_key."""
    if alert.state is State.RESOLVED:
        return {"event_action": "resolve", "dedup_key": alert.dedup_key}
    custom = {k.lower().replace(" ", "_"): v for k, v in facts(alert, ctx)}
    links = [{"href": link.url, "text": link.text} for link in alert.links]
    url = ctx.runbook_url(alert)
    if url:
        links.insert(0, {"href": url, "text": f"Runbook {alert.runbook or ''}".strip()})
    return {
        "event_action": "trigger",
        "dedup_key": alert.dedup_key,
        "payload": {
            "summary": f"{title(alert)}: {alert.summary}"[:_PD_SUMMARY_LIMIT],
            "source": alert.resource or alert.name,
            "severity": _PD_SEVERITY[alert.severity],
            "timestamp": alert.changed_at.isoformat(),
            "component": alert.name,
            "group": alert.source,
            "class": alert.name,
            "custom_details": custom,
        },
        "links": links,
        "client": "edge-ops fan-out",
    }


def email(alert: Alert, ctx: FormatContext) -> tuple[str, str]:
    """Subject and plain-text body."""
    body = [title(alert), ""]
    body += [f"{k}: {v}" for k, v in facts(alert, ctx)]
    if alert.links:
        body.append("")
        body += [f"{link.text}: {link.url}" for link in alert.links]
    return title(alert)[:200], "\n".join(body) + "\n"
