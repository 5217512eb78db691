"""The functions' side of the laptop's alert subscriptions (laptop/subscriptions.py): each
subscription's SQS queue polled on its own thread, each SNS notification in it handed to the
subscribed function as Lambda hands it one, ``{"Records": [{"EventSource": "aws:sns", ...,
"Sns": <the notification>}]}``: the fan-out's real handler, or a runbook function gated as
deployed (laptop/runbook.py). The laptop converts nothing: the functions read the alert.

A delivery whose function fails is left in the queue and comes back after the queue's
visibility timeout, as Lambda retries an asynchronous invocation; after ``MAX_RECEIVES``
attempts it is dropped (deployed, it would go to the function's failure destination).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from laptop import aws
from laptop.subscriptions import Subscribed

log = logging.getLogger(__name__)

MAX_RECEIVES = 3  # Lambda's asynchronous invocation: the first try and two retries


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes powertools and our handlers read)."""

    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/laptop"
    log_stream_name: str = "laptop"
    timeout_s: float = 120.0
    _start: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._start)) * 1000))


@dataclass(frozen=True, slots=True)
class Delivery:
    subscription: str  # e.g. fanout-on-high, pause-trading-on-high
    at: float
    ok: bool
    summary: str  # the alert and its status as the attributes say, or the subject


Target = Callable[[dict[str, Any]], Any]  # a function, called with its Lambda event


def lambda_sns_event(notification: Mapping[str, Any], subscription_arn: str) -> dict[str, Any]:
    """The event Lambda gives a function subscribed to a topic, for one notification."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": dict(notification),
            }
        ]
    }


def summary(notification: Mapping[str, Any]) -> str:
    attrs = notification.get("MessageAttributes") or {}

    def attr(name: str) -> str | None:
        entry = attrs.get(name)
        return entry.get("Value") if isinstance(entry, Mapping) else None

    if attr("alertname"):
        return f"{attr('alertname')} {attr('status')}"
    return str(notification.get("Subject") or "")[:80]


class Receivers:
    """One polling thread per subscription, calling ``targets[subscription.target]``."""

    def __init__(
        self, endpoint: str, subscribed: list[Subscribed], targets: Mapping[str, Target]
    ) -> None:
        missing = {s.subscription.target for s in subscribed} - set(targets)
        if missing:
            raise ValueError(f"no function for subscriptions of {sorted(missing)}")
        self.endpoint = endpoint
        self.subscribed = subscribed
        self.targets = targets
        self.deliveries: deque[Delivery] = deque(maxlen=500)
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._poll, args=(s,), name=s.subscription.name, daemon=True)
            for s in subscribed
        ]

    def start(self) -> Receivers:
        for t in self._threads:
            t.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)

    def _poll(self, s: Subscribed) -> None:
        sqs = aws.client("sqs", self.endpoint)  # a client per thread
        while not self._stop.is_set():
            try:
                got = sqs.receive_message(
                    QueueUrl=s.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    AttributeNames=["ApproximateReceiveCount"],
                )
            except Exception as err:  # moto stopping, or busy: try again, unless stopping
                if not self._stop.is_set():
                    log.warning("%s: receive failed: %s", s.subscription.name, err)
                    self._stop.wait(1)
                continue
            for m in got.get("Messages", []):
                if self.deliver(s, m["Body"]) or _received(m) >= MAX_RECEIVES:
                    sqs.delete_message(QueueUrl=s.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def deliver(self, s: Subscribed, body: str) -> bool:
        """One notification to the subscribed function; whether it succeeded."""
        name = s.subscription.name
        try:
            notification = json.loads(body)
        except ValueError:
            self.deliveries.append(Delivery(name, time.time(), False, "not SNS JSON"))
            return False
        what = summary(notification)
        try:
            self.targets[s.subscription.target](lambda_sns_event(notification, s.arn))
        except Exception as err:  # the function failed: delivered again later, as by Lambda
            log.error("%s failed on %s: %s", name, what, err)
            self.deliveries.append(Delivery(name, time.time(), False, f"{what}: {err}"))
            return False
        self.deliveries.append(Delivery(name, time.time(), True, what))
        return True


def _received(message: Mapping[str, Any]) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))


def fanout_target() -> Target:
    """The fan-out's Lambda handler, called as Lambda would call it."""

    def call(event: dict[str, Any]) -> Any:
        from functions.fanout import handler

        return handler.handler(event, LambdaContext("edge-laptop-fanout"))

    return call
