"""Recorded events, a fake Lambda context, and readers for what handlers print (EMF metrics).

The JSON files under ``events/`` are events as AWS delivers them (EventBridge scheduled events,
SNS notifications wrapping CloudWatch alarms, ...); tests load them, change what they need with
``load_event(name, **overrides)`` and call a handler with them and ``FakeLambdaContext()``.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent / "events"


def event_names() -> list[str]:
    return sorted(p.stem for p in EVENTS_DIR.glob("*.json"))


def load_event(name: str, **overrides: Any) -> dict[str, Any]:
    """The recorded event ``events/<name>.json`` (a fresh copy), with top-level overrides."""
    path = EVENTS_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no recorded event {name!r}; there are {event_names()}")
    event: dict[str, Any] = json.loads(path.read_text())
    for key, value in overrides.items():
        event[key.replace("_", "-") if key == "detail_type" else key] = copy.deepcopy(value)
    return event


def scheduled_event(
    time: str = "2026-11-30T02:00:00Z", rule: str = "edge-ops-test"
) -> dict[str, Any]:
    """An EventBridge scheduled event firing at ``time`` for rule ``rule``."""
    return load_event(
        "eventbridge_scheduled",
        time=time,
        resources=[f"arn:aws:events:us-east-1:123456789012:rule/{rule}"],
    )


def sns_event(message: str | dict[str, Any], subject: str | None = "test") -> dict[str, Any]:
    """The recorded SNS notification with another message (a dict is sent as JSON text)."""
    event = load_event("sns_cloudwatch_alarm")
    sns = event["Records"][0]["Sns"]
    sns["Message"] = message if isinstance(message, str) else json.dumps(message)
    sns["Subject"] = subject
    return event


@dataclass
class FakeLambdaContext:
    """What Lambda passes as ``context`` (the attributes powertools and our handlers read)."""

    function_name: str = "edge-ops-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/edge-ops-test"
    log_stream_name: str = "2026/11/30/[$LATEST]0123456789abcdef"
    remaining_ms: int = 900_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON objects among printed lines (powertools logs and EMF both print JSON lines)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
    return out


def emf_metrics(text: str) -> dict[str, Any]:
    """Metric name -> value from the EMF records in printed output (later records win)."""
    values: dict[str, Any] = {}
    for record in json_lines(text):
        aws = record.get("_aws")
        if not isinstance(aws, dict):
            continue
        for directive in aws.get("CloudWatchMetrics", []):
            for metric in directive.get("Metrics", []):
                values[metric["Name"]] = record.get(metric["Name"])
    return values
