"""The laptop's alert subscriptions are the deployed ones (the fan-out on every topic; each
runbook the laptop runs on the topics ``runbook_topics`` gives, with the deployed filter
policy), and in moto they deliver as deployed: the notification, attributes included, handed
to the function as a Lambda SNS event; a resolution kept from the runbook by the filter; a
failed delivery delivered again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from infra.monitoring import alertmanager_sns, rule_cases
from laptop import compressed_rules
from laptop.aws import MotoServer, client, create_resources
from laptop.monitoring import DEPLOYED_RULES
from laptop.receivers import Receivers
from laptop.subscriptions import (
    FANOUT,
    LAPTOP_RUNBOOKS,
    Subscription,
    alerting_rules,
    plan,
    subscribe,
)
from shared import alert_notice

T = TypeVar("T")


def laptop_plan() -> list[Subscription]:
    return plan(alerting_rules(compressed_rules.load(DEPLOYED_RULES)))


def test_the_laptop_subscribes_as_deployed() -> None:
    subs = laptop_plan()
    fanout = [s for s in subs if s.target == FANOUT]
    assert sorted(s.severity for s in fanout) == sorted(alertmanager_sns.SEVERITIES)
    assert all(s.filter_policy is None for s in fanout)
    deployed = alertmanager_sns.runbook_topics(rule_cases.rules())
    for runbook in LAPTOP_RUNBOOKS:
        mine = [s for s in subs if s.target == runbook]
        assert {s.severity for s in mine} == deployed[runbook]
        assert len(mine) == len(deployed[runbook])
        for s in mine:
            assert s.filter_policy == alertmanager_sns.runbook_filter_policy(runbook)
    assert {s.target for s in subs} == {FANOUT, *LAPTOP_RUNBOOKS}


def test_the_laptop_runs_only_the_pause_runbook() -> None:
    assert LAPTOP_RUNBOOKS == ("pause-trading",)
    assert {s.name for s in laptop_plan() if s.target != FANOUT} == {"pause-trading-on-high"}


@pytest.fixture
def moto_url() -> Iterator[str]:
    moto = MotoServer().start()
    try:
        yield moto.url
    finally:
        moto.stop()


def eventually(check: Callable[[], T | None], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} not within {timeout:.0f}s")


def publish(sns: Any, topic: str, status: str, runbook: str = "pause-trading") -> None:
    values = {
        "source": alert_notice.SOURCE,
        "alertname": "RpcHeadLag",
        "severity": "high",
        "status": status,
        "runbook": runbook,
        "fingerprint": "f1",
        "starts_at": "2026-12-02T03:00:00Z",
        "ends_at": alert_notice.NONE,
    }
    sns.publish(
        TopicArn=topic,
        Subject=f"[{status.upper()}] RpcHeadLag",
        Message=f"{status.upper()} RpcHeadLag: behind\n",
        MessageAttributes={k: {"DataType": "String", "StringValue": v} for k, v in values.items()},
    )


def test_moto_delivers_as_deployed(moto_url: str) -> None:
    res = create_resources(moto_url, "http://127.0.0.1:9")
    subscribed = subscribe(moto_url, res.topics, laptop_plan())
    sns = client("sns", moto_url)
    (runbook_sub,) = [s for s in subscribed if s.subscription.target == "pause-trading"]
    attrs = sns.get_subscription_attributes(SubscriptionArn=runbook_sub.arn)["Attributes"]
    assert attrs["TopicArn"] == res.topics["high"]
    assert json.loads(attrs["FilterPolicy"]) == alertmanager_sns.runbook_filter_policy(
        "pause-trading"
    )
    assert attrs["FilterPolicyScope"] == "MessageAttributes"

    events: dict[str, list[dict[str, Any]]] = {FANOUT: [], "pause-trading": []}
    receivers = Receivers(
        moto_url,
        subscribed,
        {name: got.append for name, got in events.items()},
    ).start()
    try:
        publish(sns, res.topics["high"], "firing")
        publish(sns, res.topics["high"], "resolved")
        publish(sns, res.topics["high"], "firing", runbook="emergency-stop")
        eventually(lambda: len(events[FANOUT]) == 3, 30, "three deliveries to the fan-out")
        (event,) = eventually(lambda: events["pause-trading"], 30, "the runbook's delivery")
    finally:
        receivers.stop()
    (record,) = event["Records"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"] == runbook_sub.arn
    notice = alert_notice.read(record["Sns"])  # the attributes came through
    assert (notice.alertname, notice.status, notice.runbook) == (
        "RpcHeadLag",
        "firing",
        "pause-trading",
    )
    statuses = sorted(alert_notice.read(e["Records"][0]["Sns"]).status for e in events[FANOUT])
    assert statuses == ["firing", "firing", "resolved"]
    # only the firing alert naming it reached the runbook: not the resolution, not the other
    assert len(events["pause-trading"]) == 1


def test_a_failed_delivery_comes_again(moto_url: str) -> None:
    res = create_resources(moto_url, "http://127.0.0.1:9")
    subscribed = subscribe(moto_url, res.topics, [Subscription(FANOUT, "high", None)])
    calls: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any]) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("Slack unreachable")

    receivers = Receivers(moto_url, subscribed, {FANOUT: flaky}).start()
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        eventually(lambda: len(calls) == 2, 30, "the delivery retried")
    finally:
        receivers.stop()
    assert calls[0] == calls[1]
    assert [d.ok for d in receivers.deliveries] == [False, True]
