"""The functions' side of the laptop's alert subscriptions (laptop/subscriptions.py): each
subscription's SQS queue polled on its own thread, each SNS notification in it handed to the
subscribed function as Lambda hands it one, ``{"Records": [{"EventSource": "aws:sns", ...,
"Sns": <the notification>}]}``: the fan-out's real handler, or a runbook function gated as
deployed (laptop/runbook.py). The laptop converts nothing: the functions read the alert.

A delivery whose function fails is left in the queue and comes back after the queue's
visibility timeout, as Lambda retries an asynchronous invocation; after ``MAX_RECEIVES``
attempts it is parked in the stack's failures queue in moto (``edge-laptop-function-failures``,
as deployed: every function's on-failure destination), as Lambda's on-failure record
(``condition: RetriesExhausted``, the event, the error), and listed in ``parked`` (the view
shows it). A message that is not an SNS notification (not JSON, or JSON but not an object) can
never be delivered: it is counted and parked at once (``condition: Unreadable``, never
invoked). Nothing ends a poller but ``stop()``: a failed SQS call is logged, counted and tried
again after a back-off (``BACKOFF_S``, doubling to ``BACKOFF_MAX_S``), the message it was about
coming back after its visibility timeout.

Each poller remembers what became of the messages it handled (``Handled``, by SQS message id,
the last ``REMEMBERED``), so that one coming back because an SQS call after its handling failed
is not handled twice: delivered, or parked, it is only deleted (counted ``returned``), never
delivered again nor parked as exhausted; one whose parking failed is parked once it is back,
with what it was parked for, and counted (failed, unreadable) once.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from laptop import aws
from laptop.failures import ASYNC_TRIES, Parked, failure_record
from laptop.subscriptions import Subscribed

log = logging.getLogger(__name__)

MAX_RECEIVES = ASYNC_TRIES  # Lambda's asynchronous invocation: the first try and two retries
REMEMBERED = 10_000  # message ids a poller remembers the outcome of
BACKOFF_S = 0.5  # after a failed SQS call; doubled on each failure in a row
BACKOFF_MAX_S = 8.0
UNREADABLE = "not an SNS notification"


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
    subscription: str  # e.g. fanout-on-high, runbook-pause-trading-on-high
    at: float
    ok: bool
    summary: str  # the alert and its status as the attributes say, or the subject
    error: str | None = None  # why it failed: the function's error, or the message's fault
    unreadable: bool = False  # not an SNS notification: never handed to the function


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a message: settled (delivered, or parked: only its deletion is left), or
    to be parked (its parking failed) for ``error`` after ``attempts`` calls."""

    settled: bool
    error: str = ""
    attempts: int = 0


SETTLED = Outcome(settled=True)


class Handled:
    """The outcomes of the last ``size`` messages handled, by SQS message id (pure)."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self.size = size
        self._outcomes: OrderedDict[str, Outcome] = OrderedDict()

    def get(self, message_id: str) -> Outcome | None:
        return self._outcomes.get(message_id)

    def put(self, message_id: str, outcome: Outcome) -> None:
        self._outcomes[message_id] = outcome
        self._outcomes.move_to_end(message_id)
        while len(self._outcomes) > self.size:
            self._outcomes.popitem(last=False)

    def __len__(self) -> int:
        return len(self._outcomes)


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
        entry = attrs.get(name) if isinstance(attrs, Mapping) else None
        return entry.get("Value") if isinstance(entry, Mapping) else None

    if attr("alertname"):
        return f"{attr('alertname')} {attr('status')}"
    return str(notification.get("Subject") or "")[:80]


class Receivers:
    """One polling thread per subscription, calling ``targets[subscription.function]``; what
    fails for good goes to ``failures_url``."""

    def __init__(
        self,
        endpoint: str,
        subscribed: list[Subscribed],
        targets: Mapping[str, Target],
        failures_url: str,
    ) -> None:
        missing = {s.subscription.function for s in subscribed} - set(targets)
        if missing:
            raise ValueError(f"no function for subscriptions of {sorted(missing)}")
        self.endpoint = endpoint
        self.subscribed = subscribed
        self.targets = targets
        self.failures_url = failures_url
        self.deliveries: deque[Delivery] = deque(maxlen=500)
        self.parked: deque[Parked] = deque(maxlen=100)
        # delivered, failed, unreadable, parked, returned, sqs_errors
        self.counts: Counter[str] = Counter()
        # each poller's own (a queue's message ids are its poller's alone)
        self.handled = {s.subscription.name: Handled() for s in subscribed}
        self._lock = threading.Lock()
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

    def alive(self) -> int:
        """How many pollers are running."""
        return sum(t.is_alive() for t in self._threads)

    def count(self, what: str) -> None:
        with self._lock:
            self.counts[what] += 1

    def _poll(self, s: Subscribed) -> None:
        sqs = aws.client("sqs", self.endpoint)  # a client per thread
        backoff = BACKOFF_S
        while not self._stop.is_set():
            try:
                got = sqs.receive_message(
                    QueueUrl=s.queue_url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=1,
                    AttributeNames=["ApproximateReceiveCount"],
                )
                failed = False
            except Exception as err:  # moto busy or stopping
                got, failed = {}, self._sqs_failed(s, err, backoff)
            for m in got.get("Messages", []):
                try:
                    self._handle(sqs, s, m)
                except Exception as err:  # deleting or parking it: it comes back
                    failed = self._sqs_failed(s, err, backoff)
            if failed:
                self._stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
            else:
                backoff = BACKOFF_S

    def _sqs_failed(self, s: Subscribed, err: Exception, backoff: float) -> bool:
        if not self._stop.is_set():
            self.count("sqs_errors")
            log.warning("%s: SQS failed (again in %.1fs): %s", s.subscription.name, backoff, err)
        return True

    def _handle(self, sqs: Any, s: Subscribed, m: Mapping[str, Any]) -> None:
        """One received message: delivered (then deleted), left for a retry, or parked (then
        deleted); one handled before is only deleted, or parked if its parking had failed. An
        SQS error here leaves it in the queue: it comes back."""
        before = self.handled[s.subscription.name].get(m["MessageId"])
        received = _received(m)
        if before is not None and before.settled:  # an SQS call after it failed
            self.count("returned")
            log.info("%s: %s back after it was handled", s.subscription.name, m["MessageId"])
        elif before is not None:  # its parking failed
            self._park(sqs, s, m, before)
        elif received > MAX_RECEIVES:  # its tries were made, but an SQS call after them failed
            why = f"received {received} times: its tries were made, their end not recorded"
            self._park(sqs, s, m, Outcome(False, why, MAX_RECEIVES))
        else:
            d = self.deliver(s, m["Body"])
            if d.ok:
                self.handled[s.subscription.name].put(m["MessageId"], SETTLED)
            elif d.unreadable:
                self._park(sqs, s, m, Outcome(False, d.error or "", 0))
            elif received >= MAX_RECEIVES:
                self._park(sqs, s, m, Outcome(False, d.error or "", received))
            else:
                return  # comes back after the queue's visibility timeout
        sqs.delete_message(QueueUrl=s.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def _park(self, sqs: Any, s: Subscribed, m: Mapping[str, Any], why: Outcome) -> None:
        """Park ``m`` in the failures queue; remembered as to be parked until it is."""
        handled, message_id = self.handled[s.subscription.name], m["MessageId"]
        handled.put(message_id, why)
        notification = _notification(m["Body"])
        if notification is None:
            payload: Any = m["Body"]
            what, condition = UNREADABLE, "Unreadable"
        else:
            payload = lambda_sns_event(notification, s.arn)
            what, condition = summary(notification), "RetriesExhausted"
        # one request id per message: a record sent twice (its answer lost) reads as one
        request_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{s.queue_url}#{message_id}"))
        record = failure_record(
            s.subscription.function, payload, why.error, why.attempts, condition, request_id
        )
        sqs.send_message(QueueUrl=self.failures_url, MessageBody=json.dumps(record))
        handled.put(message_id, SETTLED)
        name = s.subscription.name
        log.error("%s: parked %s after %d tries: %s", name, what, why.attempts, why.error)
        self.count("parked")
        self.parked.append(Parked(name, time.time(), what, why.error, why.attempts))

    def deliver(self, s: Subscribed, body: str) -> Delivery:
        """One notification to the subscribed function: what came of it (also recorded)."""
        name = s.subscription.name
        notification = _notification(body)
        if notification is None:
            self.count("unreadable")
            log.error("%s: not an SNS notification: %.200r", name, body)
            d = Delivery(name, time.time(), False, UNREADABLE, "not a JSON object", unreadable=True)
            self.deliveries.append(d)
            return d
        what = summary(notification)
        try:
            self.targets[s.subscription.function](lambda_sns_event(notification, s.arn))
        except Exception as err:  # the function failed: delivered again later, as by Lambda
            log.error("%s failed on %s: %s", name, what, err)
            self.count("failed")
            d = Delivery(name, time.time(), False, what, f"{type(err).__name__}: {err}")
        else:
            self.count("delivered")
            d = Delivery(name, time.time(), True, what)
        self.deliveries.append(d)
        return d


def _notification(body: str) -> dict[str, Any] | None:
    """The SNS notification a queue message carries, or None if it carries none."""
    try:
        notification = json.loads(body)
    except ValueError:
        return None
    return notification if isinstance(notification, dict) else None


def _received(message: Mapping[str, Any]) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", "1"))


def fanout_target() -> Target:
    """The fan-out's Lambda handler, called as Lambda would call it."""

    def call(event: dict[str, Any]) -> Any:
        from functions.fanout import handler

        return handler.handler(event, LambdaContext("edge-laptop-fanout"))

    return call
