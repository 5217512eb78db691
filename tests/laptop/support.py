"""Helpers of the laptop's delivery tests: waiting on a condition, and publishing an alert to a
topic as the edge host's Alertmanager does (its message attributes, shared/alert_notice.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from shared import alert_notice

T = TypeVar("T")


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} not within {timeout:.0f}s")


def publish(
    sns: Any,
    topic: str,
    status: str,
    runbook: str = "pause-trading",
    fingerprint: str = "f1",
    alertname: str = "RpcHeadLag",
) -> None:
    values = {
        "source": alert_notice.SOURCE,
        "alertname": alertname,
        "severity": "high",
        "status": status,
        "runbook": runbook,
        "fingerprint": fingerprint,
        "starts_at": "2026-12-02T03:00:00Z",
        "ends_at": "2026-12-02T03:05:00Z" if status == "resolved" else alert_notice.NONE,
    }
    sns.publish(
        TopicArn=topic,
        Subject=f"[{status.upper()}] {alertname}",
        Message=f"{status.upper()} {alertname}: behind\n",
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in values.items()},
    )


def queue_left(sqs: Any, url: str) -> int:
    """Messages still in a queue, visible or in flight."""
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"]
    )
