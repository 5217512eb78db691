"""A message comes back to its poller (laptop/receivers.py) when an SQS call after its handling
fails: a delivery that succeeded is then neither delivered again nor parked, one parked is not
parked twice, and one whose parking failed is parked once it is back, counted once. Each with
an SQS client failing the named calls, as moto under load."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from infra.monitoring.subscription_plan import FANOUT
from laptop import aws
from laptop.aws import Resources, client
from laptop.receivers import SETTLED, Handled, Outcome, Receivers, Target
from laptop.subscriptions import Subscribed
from laptop.view import deliveries_text
from tests.laptop.support import fanout_on_high, parked_records, publish, queue_left
from tests.support.waiting import eventually


class FaultySqs:
    """An SQS client whose next ``faults[operation]`` calls of an operation fail before reaching
    moto (a failed delete leaves the message in its queue, a failed send sends nothing)."""

    def __init__(self, real: Any, faults: dict[str, int]) -> None:
        self.real, self.faults = real, faults
        self.lock = threading.Lock()

    def _call(self, operation: str, **kw: Any) -> Any:
        with self.lock:
            if self.faults.get(operation, 0) > 0:
                self.faults[operation] -= 1
                raise ConnectionError(f"{operation}: moto is busy")
        return getattr(self.real, operation)(**kw)

    def delete_message(self, **kw: Any) -> Any:
        return self._call("delete_message", **kw)

    def send_message(self, **kw: Any) -> Any:
        return self._call("send_message", **kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def faulty_receivers(
    moto_url: str, monkeypatch: pytest.MonkeyPatch, target: Target, faults: dict[str, int]
) -> tuple[Resources, Subscribed, Receivers]:
    """The fan-out on the high topic, polled through a faulty client (started)."""
    res, sub = fanout_on_high(moto_url)  # made with the real client
    real_client = aws.client
    monkeypatch.setattr(
        aws, "client", lambda service, endpoint: FaultySqs(real_client(service, endpoint), faults)
    )
    return res, sub, Receivers(moto_url, [sub], {FANOUT: target}, res.failures_url).start()


def failing(times: int, calls: list[dict[str, Any]]) -> Callable[[dict[str, Any]], None]:
    """A function failing its first ``times`` calls (recorded in ``calls``)."""

    def call(event: dict[str, Any]) -> None:
        calls.append(event)
        if len(calls) <= times:
            raise RuntimeError("Slack unreachable")

    return call


def settled(r: Receivers, res: Resources, sub: Subscribed, counted: str, n: int) -> None:
    """Wait until ``r.counts[counted]`` is ``n`` and the subscription's queue is empty."""
    sqs = client("sqs", res.endpoint)
    eventually(
        lambda: r.counts[counted] == n and queue_left(sqs, sub.queue_url) == 0,
        60,
        f"{counted} {n} and the queue emptied",
    )


def test_a_delivery_whose_delete_failed_is_not_delivered_again(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    res, sub, r = faulty_receivers(moto_url, monkeypatch, calls.append, {"delete_message": 1})
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        settled(r, res, sub, "returned", 1)  # back after the visibility timeout, deleted
    finally:
        r.stop()
    assert len(calls) == 1
    assert r.counts["delivered"] == 1 and r.counts["sqs_errors"] == 1
    assert r.counts["failed"] == 0 and r.counts["parked"] == 0 and not r.parked
    assert len(r.deliveries) == 1
    assert queue_left(client("sqs", moto_url), res.failures_url) == 0
    (tally,) = deliveries_text(r)
    assert "1 back after handling (deleted)" in tally


def test_a_delivery_succeeding_on_its_last_try_is_not_parked_when_it_comes_back(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    res, sub, r = faulty_receivers(moto_url, monkeypatch, failing(2, calls), {"delete_message": 1})
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        # received a fourth time, past its tries: handled, so deleted, not parked
        settled(r, res, sub, "returned", 1)
    finally:
        r.stop()
    assert len(calls) == 3
    assert r.counts["failed"] == 2 and r.counts["delivered"] == 1
    assert r.counts["parked"] == 0 and not r.parked
    assert queue_left(client("sqs", moto_url), res.failures_url) == 0


def test_a_parked_delivery_whose_delete_failed_is_parked_once(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    res, sub, r = faulty_receivers(moto_url, monkeypatch, failing(99, calls), {"delete_message": 1})
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        settled(r, res, sub, "returned", 1)
    finally:
        r.stop()
    assert len(calls) == 3 and r.counts["failed"] == 3
    assert r.counts["parked"] == 1 and len(r.parked) == 1
    (record,) = parked_records(moto_url, res.failures_url, 1)  # and no second one
    assert record["requestContext"]["approximateInvokeCount"] == 3


def test_a_delivery_whose_parking_failed_is_parked_when_it_comes_back(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    res, sub, r = faulty_receivers(moto_url, monkeypatch, failing(99, calls), {"send_message": 1})
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        settled(r, res, sub, "parked", 1)
    finally:
        r.stop()
    assert len(calls) == 3 and r.counts["failed"] == 3 and r.counts["sqs_errors"] == 1
    # parked for what it failed on, after its three tries (not as a message past its tries)
    (parked,) = r.parked
    assert parked.attempts == 3 and "Slack unreachable" in parked.error
    (record,) = parked_records(moto_url, res.failures_url, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == calls[0]
    assert "Slack unreachable" in record["responsePayload"]["errorMessage"]


def test_an_unreadable_message_whose_parking_failed_is_counted_once(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []
    res, sub, r = faulty_receivers(moto_url, monkeypatch, calls.append, {"send_message": 1})
    try:
        client("sqs", moto_url).send_message(QueueUrl=sub.queue_url, MessageBody="not json")
        settled(r, res, sub, "parked", 1)
    finally:
        r.stop()
    assert not calls
    assert r.counts["unreadable"] == 1 and r.counts["sqs_errors"] == 1
    assert r.counts["parked"] == 1 and len(r.deliveries) == 1
    (record,) = parked_records(moto_url, res.failures_url, 1)
    assert record["requestContext"]["condition"] == "Unreadable"
    assert record["requestPayload"] == "not json"


def test_handled_remembers_the_latest_outcomes_only() -> None:
    handled = Handled(size=2)
    handled.put("m1", SETTLED)
    handled.put("m2", Outcome(False, "Slack unreachable", 3))
    handled.put("m1", SETTLED)  # m1 the latest again
    handled.put("m3", SETTLED)
    assert len(handled) == 2
    assert handled.get("m2") is None  # the oldest forgotten
    assert handled.get("m1") == SETTLED and handled.get("m3") == SETTLED
