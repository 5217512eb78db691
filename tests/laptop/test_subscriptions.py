"""The laptop's alert subscriptions are the deployed plan (infra/monitoring/subscription_plan.py:
the fan-out on every topic; each runbook the laptop runs on the topics ``runbook_topics``
gives, with the deployed filter policy), and in moto they deliver as deployed: the
notification, attributes included, handed to the function as a Lambda SNS event; nothing but
the firing alert naming the runbook reaches it; a failed delivery delivered again."""

from __future__ import annotations

import json
from typing import Any

from infra.monitoring import alert_rules, alertmanager_sns, subscription_plan
from laptop import compressed_rules
from laptop.aws import client, create_resources
from laptop.monitoring import DEPLOYED_RULES
from laptop.receivers import Receivers
from laptop.subscriptions import (
    FANOUT,
    LAPTOP_RUNBOOKS,
    Subscription,
    alerting_rules,
    laptop_functions,
    plan,
    subscribe,
)
from shared import alert_notice
from tests.laptop.support import publish, queue_left
from tests.support.waiting import eventually

PAUSE = "runbook-pause-trading"


def laptop_plan() -> list[Subscription]:
    return plan(alerting_rules(compressed_rules.load(DEPLOYED_RULES)))


def test_the_laptop_makes_the_deployed_plan_for_its_functions() -> None:
    deployed = subscription_plan.plan(alertmanager_sns.runbook_topics(alert_rules.rules()))
    mine = laptop_plan()
    assert mine == [s for s in deployed if s.function in laptop_functions()]
    fanout = [s for s in mine if s.function == FANOUT]
    assert sorted(s.severity for s in fanout) == sorted(alertmanager_sns.SEVERITIES)
    assert all(s.filter_policy is None for s in fanout)


def test_the_laptop_runs_only_the_pause_runbook() -> None:
    assert LAPTOP_RUNBOOKS == ("pause-trading",)
    runbooks = [s for s in laptop_plan() if s.function != FANOUT]
    assert [(s.name, s.runbook) for s in runbooks] == [(f"{PAUSE}-on-high", "pause-trading")]


def test_moto_delivers_as_deployed_and_nothing_else_reaches_the_runbook(moto_url: str) -> None:
    res = create_resources(moto_url, "http://127.0.0.1:9")
    subscribed = subscribe(moto_url, res.topics, laptop_plan())
    sns, sqs = client("sns", moto_url), client("sqs", moto_url)
    (runbook_sub,) = [s for s in subscribed if s.subscription.function == PAUSE]
    attrs = sns.get_subscription_attributes(SubscriptionArn=runbook_sub.arn)["Attributes"]
    assert attrs["TopicArn"] == res.topics["high"]
    assert json.loads(attrs["FilterPolicy"]) == alertmanager_sns.runbook_filter_policy(
        "pause-trading"
    )
    assert attrs["FilterPolicyScope"] == "MessageAttributes"

    events: dict[str, list[dict[str, Any]]] = {FANOUT: [], PAUSE: []}
    receivers = Receivers(
        moto_url, subscribed, {name: got.append for name, got in events.items()}, res.failures_url
    ).start()

    def fingerprints(function: str) -> list[str]:
        return [alert_notice.read(e["Records"][0]["Sns"]).fingerprint for e in events[function]]

    try:
        high = res.topics["high"]
        publish(sns, high, "firing")
        publish(sns, high, "resolved")  # a resolution: the filter keeps it out
        publish(sns, high, "firing", runbook="emergency-stop", fingerprint="f2")  # not this one
        # SNS puts each into the queues before its publish returns: once the sentinel (the
        # last published) is delivered, whatever the filter let through is delivered or queued
        publish(sns, high, "firing", fingerprint="sentinel", alertname="MarketDataStale")
        eventually(lambda: "sentinel" in fingerprints(PAUSE), 30, "the runbook's sentinel")
        eventually(lambda: len(events[FANOUT]) == 4, 30, "four deliveries to the fan-out")
    finally:
        receivers.stop()
    assert queue_left(sqs, runbook_sub.queue_url) == 0  # nothing waiting behind the sentinel
    # only the firing alert naming it, and the sentinel, reached the runbook
    assert sorted(fingerprints(PAUSE)) == ["f1", "sentinel"]
    (record,) = events[PAUSE][fingerprints(PAUSE).index("f1")]["Records"]
    assert (record["EventSource"], record["EventVersion"]) == ("aws:sns", "1.0")
    assert record["EventSubscriptionArn"] == runbook_sub.arn
    notice = alert_notice.read(record["Sns"])  # the attributes came through
    assert (notice.alertname, notice.status, notice.runbook) == (
        "RpcHeadLag",
        "firing",
        "pause-trading",
    )
    # the fan-out heard everything
    statuses = sorted(alert_notice.read(e["Records"][0]["Sns"]).status for e in events[FANOUT])
    assert statuses == ["firing", "firing", "firing", "resolved"]


def test_a_failed_delivery_comes_again(moto_url: str) -> None:
    res = create_resources(moto_url, "http://127.0.0.1:9")
    subscribed = subscribe(moto_url, res.topics, [Subscription(FANOUT, "high", None, None)])
    calls: list[dict[str, Any]] = []

    def flaky(event: dict[str, Any]) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("Slack unreachable")

    receivers = Receivers(moto_url, subscribed, {FANOUT: flaky}, res.failures_url).start()
    try:
        publish(client("sns", moto_url), res.topics["high"], "firing")
        eventually(lambda: len(calls) == 2, 30, "the delivery retried")
    finally:
        receivers.stop()
    assert calls[0] == calls[1]
    assert [d.ok for d in receivers.deliveries] == [False, True]
    assert not receivers.parked
