"""The messages, snapshot-tested against recorded payloads (UPDATE_SNAPSHOTS=1 rewrites them:
read the diff before committing it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from functions.fanout.alert import Alert
from functions.fanout.formatting import (
    FormatContext,
    email,
    facts,
    pagerduty_event,
    slack_message,
    telegram_text,
)
from functions.fanout.sources import parse_event
from tests.functions.fanout.recorded import recorded

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
CTX = FormatContext(runbook_base_url="https://github.com/example/edge/blob/main/README.md")
EVENTS = [
    "sns_cloudwatch_alarm",
    "sns_cloudwatch_ok",
    "sns_several_records",
    "alertmanager_v4",
    "internal_emergency_stop",
    "internal_report",
]


def render(alert: Alert) -> dict[str, Any]:
    subject, body = email(alert, CTX)
    return {
        "slack": slack_message(alert, CTX),
        "telegram": telegram_text(alert, CTX),
        "pagerduty": pagerduty_event(alert, CTX),
        "email": {"subject": subject, "body": body},
    }


@pytest.mark.parametrize("name", EVENTS)
def test_snapshot(name: str) -> None:
    got = (
        json.dumps([render(a) for a in parse_event(recorded(name))], indent=2, ensure_ascii=False)
        + "\n"
    )
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(got)
    assert path.exists(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1 and review it"
    assert got == path.read_text()


def test_what_an_operator_needs_at_3am() -> None:
    [stop] = parse_event(recorded("internal_emergency_stop"))
    rows = dict(facts(stop, CTX))
    assert rows["What"] == "Emergency stop activated: loss limit crossed"
    assert rows["Since"] == "2026-12-02 03:19:58 UTC"
    assert rows["Value"] == "-1,250.40 USDT today (threshold: loss > 1,000 USDT/day)"
    assert rows["Runbook"] == (
        "emergency-stop https://github.com/example/edge/blob/main/README.md#runbook-emergency-stop"
    )
    assert rows["Already done"].startswith("admin API: stop accepted (0.21 s); SSM flag")


def test_resolved_says_how_long_it_lasted() -> None:
    _, resolved = parse_event(recorded("alertmanager_v4"))
    assert dict(facts(resolved, CTX))["When"] == (
        "resolved 2026-12-02 02:58:00 UTC, firing since 2026-12-02 02:41:00 UTC (17 min)"
    )


def test_markup_in_alert_text_is_escaped() -> None:
    event = recorded("internal_emergency_stop")
    event["summary"] = "<b>boom</b> & <!channel>"
    [alert] = parse_event(event)
    assert "&lt;b&gt;boom&lt;/b&gt; &amp; &lt;!channel&gt;" in telegram_text(alert, CTX)
    assert "<!channel>" not in json.dumps(slack_message(alert, CTX))


def test_telegram_length_limit() -> None:
    event = recorded("internal_emergency_stop")
    event["description"] = "x" * 5000
    [alert] = parse_event(event)
    text = telegram_text(alert, CTX)
    assert len(text) <= 4096
    assert text.endswith("…")
