"""The receivers' pollers (laptop/receivers.py) outlive what goes wrong: a message that is not
an SNS notification is counted and parked, a failing SQS call is counted and tried again after
a back-off, and a delivery whose function fails three times is parked in the failures queue as
Lambda's on-failure record, and shown in the view; none of it ends a poller."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra.monitoring.subscription_plan import FANOUT
from laptop import aws
from laptop.aws import client
from laptop.receivers import MAX_RECEIVES, Receivers
from laptop.view import deliveries_text
from shared import alert_notice
from tests.laptop.support import fanout_on_high, parked_records, publish, queue_left
from tests.support.waiting import eventually


def test_unreadable_messages_are_parked_and_the_poller_goes_on(moto_url: str) -> None:
    res, sub = fanout_on_high(moto_url)
    calls: list[dict[str, Any]] = []
    r = Receivers(moto_url, [sub], {FANOUT: calls.append}, res.failures_url).start()
    try:
        sqs = client("sqs", moto_url)
        for body in ("not json", "[1, 2]", "42", '"a string"'):
            sqs.send_message(QueueUrl=sub.queue_url, MessageBody=body)
        publish(client("sns", moto_url), res.topics["high"], "firing")
        eventually(lambda: calls, 30, "the notification after them delivered")
        eventually(lambda: r.counts["parked"] == 4, 30, "the four unreadable parked")
        assert r.alive() == 1
    finally:
        r.stop()
    assert r.counts["unreadable"] == 4 and r.counts["delivered"] == 1
    assert len(calls) == 1  # the function never saw the unreadable ones
    records = parked_records(moto_url, res.failures_url, 4)
    assert sorted(rec["requestPayload"] for rec in records) == sorted(
        ["not json", "[1, 2]", "42", '"a string"']
    )
    for rec in records:
        assert rec["requestContext"]["condition"] == "Unreadable"
        assert rec["requestContext"]["approximateInvokeCount"] == 0
    assert queue_left(client("sqs", moto_url), sub.queue_url) == 0


def test_a_delivery_failing_three_times_is_parked_not_dropped(moto_url: str) -> None:
    res, sub = fanout_on_high(moto_url)
    calls: list[dict[str, Any]] = []

    def broken(event: dict[str, Any]) -> None:
        calls.append(event)
        raise RuntimeError("Slack unreachable")

    r = Receivers(moto_url, [sub], {FANOUT: broken}, res.failures_url).start()
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        (parked,) = eventually(lambda: list(r.parked), 60, "the delivery parked")
        assert r.alive() == 1
    finally:
        r.stop()
    assert len(calls) == MAX_RECEIVES == 3
    assert r.counts["failed"] == 3 and r.counts["parked"] == 1
    assert (parked.source, parked.summary, parked.attempts) == (
        "fanout-on-high",
        "RpcHeadLag firing",
        3,
    )
    assert "Slack unreachable" in parked.error
    (record,) = parked_records(moto_url, res.failures_url, 1)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestPayload"] == calls[0]  # the event the function was given
    assert alert_notice.read(record["requestPayload"]["Records"][0]["Sns"]).status == "firing"
    assert "Slack unreachable" in record["responsePayload"]["errorMessage"]
    assert queue_left(client("sqs", moto_url), sub.queue_url) == 0
    # the view says so
    tally, line = deliveries_text(r)
    assert "3 failed (retried)" in tally and "1 parked in the failures queue" in tally
    assert "pollers 0/1" in tally  # stopped
    assert line.startswith("    PARKED fanout-on-high: RpcHeadLag firing after 3 tries")


class FlakySqs:
    """An SQS client whose first ``n`` receives fail, as moto under load or restarting."""

    def __init__(self, real: Any, n: int) -> None:
        self.real, self.left = real, n
        self.lock = threading.Lock()

    def receive_message(self, **kw: Any) -> Any:
        with self.lock:
            if self.left > 0:
                self.left -= 1
                raise ConnectionError("moto is busy")
        return self.real.receive_message(**kw)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_a_failing_sqs_call_does_not_end_the_poller(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    res, sub = fanout_on_high(moto_url)
    real_client = aws.client
    monkeypatch.setattr(
        aws,
        "client",
        lambda service, endpoint: FlakySqs(real_client(service, endpoint), 3),
    )
    waits: list[float] = []
    calls: list[dict[str, Any]] = []
    r = Receivers(moto_url, [sub], {FANOUT: calls.append}, res.failures_url)
    real_wait = r._stop.wait

    def wait(timeout: float | None = None) -> bool:
        if timeout is not None:
            waits.append(timeout)
        return real_wait(timeout)

    monkeypatch.setattr(r._stop, "wait", wait)
    r.start()
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        eventually(lambda: calls, 60, "the delivery after three failed receives")
        assert r.alive() == 1
    finally:
        r.stop()
    assert r.counts["sqs_errors"] == 3
    assert waits[:3] == [0.5, 1.0, 2.0]  # backing off, doubling
