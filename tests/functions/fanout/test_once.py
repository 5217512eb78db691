"""Once per channel per state change across invocations: powertools idempotency on DynamoDB
(moto), against the local sinks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.fanout.delivery import DeliveryIncomplete
from functions.fanout.once import DynamoDBGate, once_key
from functions.fanout.routing import Channel
from functions.fanout.sources import parse_event
from tests.functions.events import FakeLambdaContext
from tests.functions.fanout.harness import build
from tests.functions.fanout.recorded import recorded
from tests.functions.fanout.sinks import Reply, Sinks, running_sinks
from tests.support.waiting import WITHIN_S, eventually

TABLE = "edge-fanout-idempotency"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with running_sinks() as s:
        yield s


def test_sns_delivering_twice_sends_once_per_channel(dynamodb: Any, sinks: Sinks) -> None:
    event = recorded("sns_cloudwatch_alarm")
    # two invocations (a cold start each: nothing shared but the table)
    first = build(sinks, gate=DynamoDBGate(TABLE, dynamodb)).fanout.deliver(parse_event(event), 30)
    second = build(sinks, gate=DynamoDBGate(TABLE, dynamodb)).fanout.deliver(parse_event(event), 30)
    assert {o.status for o in first} == {"delivered"}
    assert {o.status for o in second} == {"duplicate"}
    assert [len(s.requests) for s in sinks.all()] == [1, 1, 1]
    assert dynamodb.scan(TableName=TABLE)["Count"] == 3  # one record per channel


def test_the_resolve_is_a_new_state_change(dynamodb: Any, sinks: Sinks) -> None:
    h = build(sinks, gate=DynamoDBGate(TABLE, dynamodb))
    h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30)
    out = h.fanout.deliver(parse_event(recorded("sns_cloudwatch_ok")), 30)
    assert {o.status for o in out} == {"delivered"}
    assert [b["event_action"] for b in sinks.pagerduty.bodies()] == ["trigger", "resolve"]


def test_a_dead_lettered_channel_is_not_sent_again_by_a_duplicate(
    dynamodb: Any, sinks: Sinks
) -> None:
    sinks.slack.answer(Reply(400, "invalid_payload"))
    event = recorded("sns_cloudwatch_alarm")
    h = build(sinks, gate=DynamoDBGate(TABLE, dynamodb))
    h.fanout.deliver(parse_event(event), 30)
    again = build(sinks, gate=DynamoDBGate(TABLE, dynamodb)).fanout.deliver(parse_event(event), 30)
    slack = next(o for o in again if o.channel is Channel.SLACK)
    assert slack.status == "duplicate"
    assert slack.reason == "already dead_lettered for this state change"
    assert len(sinks.slack.requests) == 1
    assert len(h.dlq.records) == 1


def test_a_failed_invocation_is_retried_for_what_it_could_not_park(
    dynamodb: Any, sinks: Sinks
) -> None:
    """Lambda retries an invocation that raised: the pair that was neither delivered nor
    dead-lettered is sent by the retry, the ones already delivered are not sent again."""
    sinks.telegram.answer(Reply(500))
    event = recorded("sns_cloudwatch_alarm")
    h = build(sinks, gate=DynamoDBGate(TABLE, dynamodb))
    h.dlq.broken = True
    with pytest.raises(DeliveryIncomplete):
        h.fanout.deliver(parse_event(event), 30)
    sinks.telegram.answer(Reply(200, {"ok": True, "result": {}}))
    retry = build(sinks, gate=DynamoDBGate(TABLE, dynamodb)).fanout.deliver(parse_event(event), 30)
    assert {o.channel.value: o.status for o in retry} == {
        "pagerduty": "duplicate",
        "slack": "duplicate",
        "telegram": "delivered",
    }
    assert len(sinks.pagerduty.requests) == len(sinks.slack.requests) == 1


def test_key_is_source_alarm_state_time_and_channel() -> None:
    [alert] = parse_event(recorded("sns_cloudwatch_alarm"))
    assert once_key(alert, Channel.SLACK) == {
        "source": "cloudwatch",
        "alarm": "edge-prod-NodeDown/Node=edge-1",
        "state": "firing",
        "changed_at": "2026-12-02T02:59:12.334000+00:00",
        "channel": "slack",
    }


def test_a_concurrent_duplicate_waits_for_the_first_and_a_dead_one_expires(
    dynamodb: Any,
) -> None:
    """SNS's duplicate arrives while the first invocation is still delivering: it does not
    send a second message. If the first invocation dies mid-delivery (its in-progress record
    left behind), the record expires with that invocation's time and a retry delivers."""
    import threading

    [alert] = parse_event(recorded("sns_cloudwatch_alarm"))
    running, release = threading.Event(), threading.Event()
    first_gate = DynamoDBGate(TABLE, dynamodb)
    # Its time: long enough for the duplicate below to come while it runs on a loaded machine.
    first_gate.register_context(FakeLambdaContext(remaining_ms=5000))  # type: ignore[arg-type]

    def hung() -> dict[str, Any]:
        running.set()  # its in-progress record is saved: the delivery has begun
        release.wait(WITHIN_S)
        raise SystemExit  # killed: powertools gets no chance to clean up its record

    worker = threading.Thread(
        target=lambda: _swallow(lambda: first_gate.once(alert, Channel.SLACK, hung))
    )
    worker.start()
    assert running.wait(WITHIN_S)
    second = DynamoDBGate(TABLE, dynamodb)
    second.register_context(FakeLambdaContext())  # type: ignore[arg-type]
    sent: list[str] = []

    def deliver() -> dict[str, Any]:
        sent.append("slack")
        return {"run_id": "r2", "status": "delivered", "attempts": 1, "reason": "HTTP 200"}

    assert second.once(alert, Channel.SLACK, deliver) is None  # in progress elsewhere
    assert sent == []
    # Retries of the duplicate until the first invocation's time is up: then one delivers.
    delivered = eventually(
        lambda: second.once(alert, Channel.SLACK, deliver),
        what="the first invocation's record to expire",
        every=0.2,
    )
    assert delivered == {
        "run_id": "r2",
        "status": "delivered",
        "attempts": 1,
        "reason": "HTTP 200",
    }
    assert sent == ["slack"]
    release.set()
    worker.join(WITHIN_S)


def _swallow(fn: Any) -> None:
    try:
        fn()
    except BaseException:  # the simulated kill ends the thread, nothing else
        return


def test_an_unavailable_table_never_stops_an_alert(dynamodb: Any, sinks: Sinks) -> None:
    """Duplicates are worse than nothing only for a moment: a page that never goes out because
    the idempotency table is unreachable would be far worse."""
    gate = DynamoDBGate("no-such-table", dynamodb)
    out = build(sinks, gate=gate).fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30)
    assert {o.status for o in out} == {"delivered"}
    assert [len(s.requests) for s in sinks.all()] == [1, 1, 1]
    assert gate.unavailable == 3
