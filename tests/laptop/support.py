"""Helpers of the laptop's delivery tests: waiting on a condition, publishing an alert to a
topic as the edge host's Alertmanager does (its message attributes, shared/alert_notice.py), and
reading queues."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from infra.monitoring.subscription_plan import FANOUT, Subscription
from laptop.aws import Resources, client, create_resources
from laptop.subscriptions import Subscribed, subscribe
from shared import alert_notice
from tests.support.waiting import eventually

T = TypeVar("T")


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


def parked_records(moto_url: str, url: str, n: int) -> list[dict[str, Any]]:
    """The ``n`` records in the failures queue, taken out of it (and none more left)."""
    sqs = client("sqs", moto_url)
    got: list[dict[str, Any]] = []

    def read() -> bool:
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in batch.get("Messages", []):
            got.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return len(got) >= n

    eventually(read, 30, f"{n} records in the failures queue")
    assert queue_left(sqs, url) == 0, "more records than expected"
    return got


def fanout_on_high(moto_url: str) -> tuple[Resources, Subscribed]:
    """The stack's resources in moto, and the fan-out subscribed to the high topic."""
    res = create_resources(moto_url, "http://127.0.0.1:9")
    (sub,) = subscribe(moto_url, res.topics, [Subscription(FANOUT, "high", None, None)])
    return res, sub
