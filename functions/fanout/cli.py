"""``edge-ops alert``: send an alert through the fan-out as a person, test the channels, show
the routes. The same core as the Lambda (functions/fanout), the same secret and channels.

Exit 0 only when every channel took the message; 1 when one did not (it is in the dead-letter
queue when EDGE_OPS_ALERT_DLQ_URL is set, and printed either way); 2 for bad input.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from functions.cli.output import emit, json_option
from functions.common.errors import BadInput, OpsError

BUDGET_S = 90.0  # a person waits at most this long for every channel's retries


class NotDelivered(OpsError):
    """A channel did not take the message after its retries (see the lines above)."""


class _KeptDeadLetters:
    """No queue configured: failures are kept to be printed (and the command fails)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def put(self, record: Any) -> None:
        self.records.append(dict(record))


def _severities() -> list[str]:
    from functions.fanout.alert import _SEVERITY_ALIASES

    return sorted(_SEVERITY_ALIASES)


def _link(value: str) -> dict[str, str]:
    text, sep, url = value.partition("=")
    if not sep or not url.startswith(("http://", "https://")):
        raise BadInput(f"--link {value!r}: expected TEXT=https://...")
    return {"text": text, "url": url}


def _fanout(gate_from_table: bool) -> tuple[Any, _KeptDeadLetters | None]:
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.settings import load_settings
    from functions.fanout.delivery import NoGate, OnceGate
    from functions.fanout.once import DynamoDBGate
    from functions.fanout.wiring import FanoutSettings, build_fanout

    settings = load_settings(FanoutSettings)
    clients = AwsClients(AwsOptions.from_settings(settings))
    kept = None if settings.alert_dlq_url else _KeptDeadLetters()
    gate: OnceGate = NoGate()
    if gate_from_table and settings.alert_idempotency_table:
        gate = DynamoDBGate(settings.alert_idempotency_table, clients.dynamodb)
    return build_fanout(settings, clients, gate=gate, dead_letters=kept), kept


def _report(summary: Any, kept: _KeptDeadLetters | None, as_json: bool) -> None:
    data = summary.as_dict()
    failed = [o for o in data["outcomes"] if o["status"] == "dead_lettered"]
    data["ok"] = not failed
    data["dead_letter_queue"] = "kept here (no EDGE_OPS_ALERT_DLQ_URL)" if kept else "SQS"

    def human() -> str:
        return "\n".join(
            f"{o['channel']}: {o['status']} {o['name']} ({o['state']}, "
            f"{o['attempts']} attempt(s)) {o['reason']}"
            for o in data["outcomes"]
        )

    emit(data, as_json, human)
    if failed:
        what = ", ".join(f"{o['channel']} ({o['reason']})" for o in failed)
        if as_json:
            sys.exit(1)  # the one JSON object above already says it
        raise NotDelivered(f"{len(failed)} delivery(ies) failed: {what}")


def _deliver(
    event: dict[str, Any], as_json: bool, *, only: Any = None, replay: bool = False
) -> None:
    from functions.fanout.core import Summary, fan_out
    from functions.fanout.delivery import DeliveryIncomplete
    from functions.fanout.sources import UnreadableAlert, parse_event

    try:
        parse_event(event)  # bad input is reported before any secret is read
    except UnreadableAlert as err:
        raise BadInput(str(err)) from None
    fanout, kept = _fanout(gate_from_table=replay)
    try:
        if only is None:
            summary = fan_out(event, fanout, BUDGET_S)
        else:
            alerts = parse_event(event)
            summary = Summary(tuple(alerts), tuple(fanout.deliver(alerts, BUDGET_S, only)))
    except DeliveryIncomplete as err:
        raise NotDelivered(str(err)) from None
    _report(summary, kept, as_json)


@click.group("alert")
def alert() -> None:
    """Send alerts through the fan-out (PagerDuty, Slack, Telegram, e-mail by severity).

    Needs EDGE_OPS_ALERT_SECRET_ID (the channels' secret); EDGE_OPS_ALERT_DLQ_URL to park
    failures in SQS (otherwise they are printed and the command fails).
    """


@alert.command("send")
@click.option(
    "--severity",
    "-s",
    type=click.Choice(_severities(), case_sensitive=False),
    help="critical/S1/P0 pages; high/warning/S2/P1; medium/S3/P2; low/info/S4/P3.",
)
@click.option("--summary", "-m", help="What happened, one line.")
@click.option(
    "--name",
    default="ManualAlert",
    show_default=True,
    help="The alert's name (the same name and resource resolve it later).",
)
@click.option("--resource", default="", help="What is affected (node, endpoint).")
@click.option("--resolve", is_flag=True, help="Send the resolution of an earlier alert.")
@click.option("--value", help="The current value.")
@click.option("--threshold", help="The limit it crossed.")
@click.option("--runbook", help="The runbook that applies.")
@click.option("--action", "actions", multiple=True, help="What was already done (repeatable).")
@click.option("--link", "links", multiple=True, help="TEXT=URL (repeatable).")
@click.option(
    "--event",
    "event_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Send a recorded event instead (SNS, Alertmanager webhook or internal JSON; "
    "'-' for stdin); duplicates are recognised when the idempotency table is set.",
)
@click.option("--dry-run", is_flag=True, help="Show the route and the messages; send nothing.")
@json_option
def send(
    severity: str | None,
    summary: str | None,
    name: str,
    resource: str,
    resolve: bool,
    value: str | None,
    threshold: str | None,
    runbook: str | None,
    actions: tuple[str, ...],
    links: tuple[str, ...],
    event_file: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Send one alert (or a recorded event) to the channels its severity routes to."""
    if event_file is not None:
        if severity or summary:
            raise BadInput("--event sends a recorded event: leave out --severity and --summary")
        event = _read_event(event_file)
    else:
        if not severity or not summary:
            raise BadInput("--severity and --summary are required (or --event FILE)")
        event = {
            "kind": "alert",
            "name": name,
            "summary": summary,
            "severity": severity,
            "resource": resource,
            "state": "resolved" if resolve else "firing",
            "at": datetime.now(UTC).isoformat(),
            "value": value,
            "threshold": threshold,
            "runbook": runbook,
            "actions": list(actions),
            "links": [_link(x) for x in links],
        }
    if dry_run:
        _dry_run(event, as_json)
        return
    _deliver(event, as_json, replay=event_file is not None)


def _read_event(path: str) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
    except OSError as err:
        raise BadInput(f"cannot read {path}: {err.strerror}") from None
    try:
        event = json.loads(text)
    except ValueError as err:
        raise BadInput(f"{path} is not JSON: {err}") from None
    if not isinstance(event, dict):
        raise BadInput(f"{path} is not a JSON object")
    return event


def _dry_run(event: dict[str, Any], as_json: bool) -> None:
    from functions.fanout.formatting import (
        FormatContext,
        email,
        pagerduty_event,
        slack_message,
        telegram_text,
    )
    from functions.fanout.routing import ROUTES
    from functions.fanout.sources import UnreadableAlert, parse_event

    try:
        alerts = parse_event(event)
    except UnreadableAlert as err:
        raise BadInput(str(err)) from None
    ctx = FormatContext()
    out: list[dict[str, Any]] = []
    for a in alerts:
        subject, body = email(a, ctx)
        out.append(
            {
                "severity": a.severity.value,
                "routes": [c.value for c in ROUTES[a.severity]],
                "slack": slack_message(a, ctx),
                "telegram": telegram_text(a, ctx),
                "pagerduty": pagerduty_event(a, ctx),
                "email": {"subject": subject, "body": body},
            }
        )
    emit(
        {"dry_run": True, "alerts": out},
        as_json,
        lambda: "\n\n".join(f"routes: {', '.join(x['routes'])}\n{x['email']['body']}" for x in out),
    )


@alert.command("test")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    type=click.Choice(["slack", "pagerduty", "telegram", "email"]),
    help="Only these channels (default: slack, pagerduty, telegram, and e-mail when configured).",
)
@json_option
def test(channels: tuple[str, ...], as_json: bool) -> None:
    """Send a test message through each channel (PagerDuty: opened, then resolved at once)."""
    from functions.fanout.routing import Channel

    now = datetime.now(UTC).isoformat()
    event = {
        "kind": "alert",
        "name": "FanoutTest",
        "severity": "info",
        "resource": "edge-ops",
        "summary": "Test of the alert path from edge-ops: no action needed",
        "at": now,
    }
    fanout, kept = _fanout(gate_from_table=False)
    chosen = frozenset(Channel(c) for c in channels) if channels else frozenset(fanout.senders)
    from functions.fanout.core import Summary
    from functions.fanout.delivery import ChannelNotConfigured, DeliveryIncomplete
    from functions.fanout.sources import parse_event

    alerts = parse_event(event)
    try:
        outcomes = fanout.deliver(alerts, BUDGET_S, chosen)
        if Channel.PAGERDUTY in chosen:
            resolved = parse_event({**event, "state": "resolved"})
            outcomes += fanout.deliver(resolved, BUDGET_S, frozenset({Channel.PAGERDUTY}))
    except ChannelNotConfigured as err:
        raise BadInput(str(err)) from None
    except DeliveryIncomplete as err:
        raise NotDelivered(str(err)) from None
    _report(Summary(tuple(alerts), tuple(outcomes)), kept, as_json)


@alert.command("routes")
@json_option
def routes(as_json: bool) -> None:
    """The routing table: which channels each severity reaches."""
    from functions.fanout.routing import OPTIONAL_CHANNELS, ROUTES

    table = {
        f"{sev.value} ({sev.seeds_name})": [
            c.value + (" (when configured)" if c in OPTIONAL_CHANNELS else "") for c in chans
        ]
        for sev, chans in ROUTES.items()
    }
    emit(table, as_json, lambda: "\n".join(f"{k}: {', '.join(v)}" for k, v in table.items()))


@alert.command("redrive")
@click.option(
    "--limit",
    type=click.IntRange(1, 10_000),
    default=100,
    show_default=True,
    help="At most this many parked alerts.",
)
@json_option
def redrive_cmd(limit: int, as_json: bool) -> None:
    """Send the dead-letter queue's alerts again, each to the channel that failed; what fails
    again is parked again."""
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.settings import load_settings
    from functions.fanout.delivery import DeliveryIncomplete, NoGate
    from functions.fanout.redrive import redrive
    from functions.fanout.wiring import FanoutSettings, build_fanout

    settings = load_settings(FanoutSettings)
    if not settings.alert_dlq_url:
        raise BadInput("EDGE_OPS_ALERT_DLQ_URL is not set: there is no queue to redrive")
    clients = AwsClients(AwsOptions.from_settings(settings))
    fanout = build_fanout(settings, clients, gate=NoGate())
    try:
        done = redrive(
            clients.client("sqs"), settings.alert_dlq_url, fanout, limit=limit, budget_s=BUDGET_S
        )
    except DeliveryIncomplete as err:
        raise NotDelivered(str(err)) from None
    data = done.as_dict()
    again = [o for o in data["outcomes"] if o["status"] == "dead_lettered"]
    data["ok"] = not again and not done.unreadable

    def human() -> str:
        lines = [
            f"{o['channel']}: {o['status']} {o['name']} ({o['state']}) {o['reason']}"
            for o in data["outcomes"]
        ] or ["the dead-letter queue is empty"]
        lines += [f"left in the queue (not an alert record): {m}" for m in done.unreadable]
        return "\n".join(lines)

    emit(data, as_json, human)
    if not data["ok"]:
        if as_json:
            sys.exit(1)
        raise NotDelivered(
            f"{len(again)} parked again, {len(done.unreadable)} unreadable left in the queue"
        )
