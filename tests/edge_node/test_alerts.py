"""The node's own critical events reach the fan-out's SNS topic, and never block the loop."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from edge_node.alerts import (
    AlertPublisher,
    emergency_stop_event,
    reorg_too_deep_event,
    risk_pause_event,
)
from edge_node.market.book import ReorgTooDeep
from edge_node.service import EdgeNode
from edge_node.telemetry import Metrics, prometheus_text, registry_for
from shared.config import NodeConfig, load_config
from shared.db.engine import migrate
from tests.support.waiting import WITHIN_S

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "edge.example.toml"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:edge-test-critical"


class RecordingSns:
    """Stands in for boto3's SNS client: records, optionally blocks or fails."""

    def __init__(self, fail: bool = False) -> None:
        self.messages: list[dict[str, Any]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail = fail

    def publish(self, **kwargs: Any) -> dict[str, str]:
        self.entered.set()
        self.release.wait(30)
        if self.fail:
            raise ConnectionError("endpoint unreachable")
        self.messages.append(kwargs)
        return {"MessageId": str(len(self.messages))}

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(m["Message"]) for m in self.messages]


def _counted(m: Metrics, outcome: str) -> float:
    line = f'node_alerts_total{{outcome="{outcome}"}} '
    text = prometheus_text(registry_for(m)).decode()
    return float(next(x for x in text.splitlines() if x.startswith(line)).split()[-1])


def test_events_carry_the_fan_outs_internal_shape() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    ev = emergency_stop_event("api", "loss above limit", at)
    assert ev["kind"] == "emergency_stop" and ev["severity"] == "critical"
    assert ev["name"] == "EmergencyStop" and ev["at"] == "2026-01-02T03:04:05.000000Z"
    assert "loss above limit" in ev["summary"] and ev["details"]["source"] == "edge-node"
    assert risk_pause_event("stale", at)["severity"] == "high"
    assert reorg_too_deep_event("reorg of 80 blocks", at)["severity"] == "critical"
    # Two stops at different times are two alerts; a redelivery of one is the same id.
    assert ev["id"] != emergency_stop_event("api", "x", datetime.now(UTC))["id"]


def test_the_fan_out_parses_what_the_node_publishes() -> None:
    from functions.fanout import sources  # the real parser, as the fan-out runs it

    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for ev, severity in (
        (emergency_stop_event("api", "loss above limit", at), "critical"),
        (risk_pause_event("market data is 400.0s old", at), "high"),
        (reorg_too_deep_event("reorg deeper than 64 blocks", at), "critical"),
    ):
        record = {"EventSource": "aws:sns", "Sns": {"Message": json.dumps(ev)}}
        (alert,) = sources.parse_event({"Records": [record]})
        assert alert.source != "sns", alert.details  # parsed as ours, not as plain text
        assert alert.name == ev["name"] and alert.severity.value == severity
        assert alert.changed_at == at


def test_publish_never_waits_for_sns_and_a_full_queue_drops_and_counts() -> None:
    sns = RecordingSns()
    sns.release.clear()  # SNS hangs
    m = Metrics()
    pub = AlertPublisher(TOPIC, sns, m, queue_max=3)
    pub.start()
    assert pub.publish(risk_pause_event("first"))
    assert sns.entered.wait(WITHIN_S)  # the worker holds the first, stuck in SNS
    results = [pub.publish(risk_pause_event(f"n{i}")) for i in range(9)]
    assert results == [True] * 3 + [False] * 6  # returned at once, whatever SNS does
    assert _counted(m, "dropped") == 6
    sns.release.set()
    assert pub.close(timeout=WITHIN_S)
    assert [e["details"]["reason"] for e in sns.events()] == ["first", "n0", "n1", "n2"]
    assert _counted(m, "sent") == 4


def test_a_failing_topic_is_counted_and_the_worker_carries_on() -> None:
    sns = RecordingSns(fail=True)
    m = Metrics()
    pub = AlertPublisher(TOPIC, sns, m)
    pub.start()
    pub.publish(risk_pause_event("a"))
    pub.publish(risk_pause_event("b"))
    assert pub.close(timeout=WITHIN_S)
    assert _counted(m, "failed") == 2


def test_published_to_a_real_sns_topic() -> None:
    with mock_aws():
        sns = boto3.client("sns", region_name="eu-west-1")
        sqs = boto3.client("sqs", region_name="eu-west-1")
        topic = sns.create_topic(Name="edge-test-critical")["TopicArn"]
        queue = sqs.create_queue(QueueName="fanout")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn["Attributes"]["QueueArn"])
        m = Metrics()
        pub = AlertPublisher(topic, sns, m)
        pub.start()
        ev = emergency_stop_event("api", "drill")
        pub.publish(ev)
        assert pub.close(timeout=WITHIN_S)
        body = json.loads(sqs.receive_message(QueueUrl=queue)["Messages"][0]["Body"])
        assert json.loads(body["Message"]) == ev
        assert body["MessageAttributes"]["severity"]["Value"] == "critical"
        assert _counted(m, "sent") == 1


def _node_config(sqlite_url: str, **alerts: Any) -> NodeConfig:
    cfg = load_config(EXAMPLE, env={"EDGE_API_TOKEN": "t" * 24, "EDGE_DATABASE_URL": sqlite_url})
    data = cfg.model_dump(mode="python")
    data["api"]["token"] = "t" * 24
    data["api"]["port"] = 0
    data["control"]["ssm_parameter"] = None  # no AWS here but the alert topic's stand-in
    data["alerts"] = {"sns_topic_arn": TOPIC, **alerts}
    return NodeConfig.model_validate(data)


async def test_the_node_raises_its_stops_and_the_risks_pauses(sqlite_url: str) -> None:
    sns = RecordingSns()
    node = EdgeNode(_node_config(sqlite_url), alerts_client=sns)
    assert node.alerts is not None and node.desk is not None
    migrate(node.engine)  # the flags' table
    node.alerts.start()
    try:
        await node.admin("pause", "api", "operator pause")  # a person's pause: no alert
        node.desk.control_service.pause_now("risk", "market data is 400.0s old")  # paused already
        await node.admin("resume", "api", "back")
        node.desk.control_service.pause_now("risk", "market data is 401.0s old")
        await node.admin("emergency-stop", "api", "loss above limit")
        assert await asyncio.to_thread(node.alerts.close, 10)
    finally:
        node.engine.dispose()
    events = sns.events()
    assert [(e["name"], e["severity"]) for e in events] == [
        ("RiskPause", "high"),
        ("EmergencyStop", "critical"),
    ]
    assert "401.0s" in events[0]["summary"] and events[1]["details"]["actor"] == "api"
    assert all(m["TopicArn"] == TOPIC for m in sns.messages)


async def test_a_reorg_deeper_than_the_window_is_raised_before_the_node_stops(
    sqlite_url: str,
) -> None:
    sns = RecordingSns()
    cfg = _node_config(sqlite_url)
    node = EdgeNode(cfg.model_copy(update={"strategy": None, "execution": None}), alerts_client=sns)

    async def deep_reorg(stop: asyncio.Event) -> None:
        raise ReorgTooDeep("a reorg of 80 blocks is deeper than chain.reorg_window (64)")

    node.listener.run = deep_reorg  # type: ignore[method-assign]
    migrate(node.engine)
    with pytest.raises(ReorgTooDeep):
        await node.run(asyncio.Event())
    (event,) = sns.events()
    assert event["name"] == "ReorgTooDeep" and event["severity"] == "critical"
    assert "80 blocks" in event["description"]


def test_no_topic_no_publisher(sqlite_url: str) -> None:
    cfg = _node_config(sqlite_url)
    node = EdgeNode(
        cfg.model_copy(update={"alerts": cfg.alerts.model_copy(update={"sns_topic_arn": None})})
    )
    try:
        assert node.alerts is None
    finally:
        node.engine.dispose()
