"""Delivery against local HTTP servers answering 200, 202, 400, 429, 500 and nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from functions.fanout.channels import AlertSecrets, HttpTransport, SecretBox, SlackSender
from functions.fanout.delivery import DeliveryIncomplete, Outcome
from functions.fanout.retry import RetryPolicy
from functions.fanout.routing import Channel
from functions.fanout.sources import parse_event
from tests.functions.fanout.harness import (
    BOT_TOKEN,
    CHAT_ID,
    CTX,
    ROUTING_KEY,
    SLACK_PATH,
    build,
)
from tests.functions.fanout.recorded import recorded
from tests.functions.fanout.sinks import HANG, Reply, Sinks, running_sinks


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with running_sinks() as s:
        yield s


def by_channel(outcomes: list[Outcome]) -> dict[str, Outcome]:
    return {o.channel.value: o for o in outcomes}


def test_critical_alarm_reaches_pagerduty_slack_and_telegram(sinks: Sinks) -> None:
    h = build(sinks)
    out = h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), budget_s=30)
    assert {o.channel.value: o.status for o in out} == {
        "pagerduty": "delivered",
        "slack": "delivered",
        "telegram": "delivered",
    }
    [pd] = sinks.pagerduty.requests
    assert pd.path == "/v2/enqueue"
    assert pd.body["routing_key"] == ROUTING_KEY
    assert pd.body["event_action"] == "trigger"
    assert pd.body["dedup_key"] == "cloudwatch/edge-prod-NodeDown/Node=edge-1"
    [slack] = sinks.slack.requests
    assert slack.path == SLACK_PATH
    [tg] = sinks.telegram.requests
    assert tg.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert tg.body["chat_id"] == CHAT_ID
    assert tg.body["parse_mode"] == "HTML"


def test_ok_resolves_with_the_same_key_and_routing_key(sinks: Sinks) -> None:
    h = build(sinks)
    h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), budget_s=30)
    h.fanout.deliver(parse_event(recorded("sns_cloudwatch_ok")), budget_s=30)
    trigger, resolve = sinks.pagerduty.bodies()
    assert resolve == {
        "routing_key": ROUTING_KEY,
        "event_action": "resolve",
        "dedup_key": trigger["dedup_key"],
    }


def test_alertmanager_group_one_firing_one_resolved(sinks: Sinks) -> None:
    h = build(sinks)
    out = h.fanout.deliver(parse_event(recorded("alertmanager_v4")), budget_s=30)
    assert len(out) == 6 and all(o.status == "delivered" for o in out)
    actions = {b["dedup_key"]: b["event_action"] for b in sinks.pagerduty.bodies()}
    assert actions == {
        "alertmanager/HighErrorRate/edge-1:9100/8c1f2d3e4b5a6978": "trigger",
        "alertmanager/HighErrorRate/edge-2:9100/1a2b3c4d5e6f7081": "resolve",
    }


def test_medium_goes_to_slack_only(sinks: Sinks) -> None:
    event = recorded("internal_emergency_stop")
    event.update(kind="alert", name="HighMemoryUsage", severity="P2")
    out = build(sinks).fanout.deliver(parse_event(event), budget_s=30)
    assert [o.channel.value for o in out] == ["slack"]
    assert not sinks.pagerduty.requests and not sinks.telegram.requests


def test_each_channel_retried_on_its_own(sinks: Sinks) -> None:
    sinks.slack.answer(Reply(500, "internal_error"), Reply(503), Reply(200, "ok"))
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["slack"].status == "delivered" and out["slack"].attempts == 3
    assert out["pagerduty"].attempts == 1 and out["telegram"].attempts == 1
    assert len(sinks.slack.requests) == 3
    assert len(sinks.pagerduty.requests) == len(sinks.telegram.requests) == 1
    # backoff with jitter (rand fixed at 0.5): 0.5 * 0.01, then 0.5 * 0.02
    assert h.sleeps == [0.005, 0.01]


def test_429_waits_what_slack_and_telegram_ask(sinks: Sinks) -> None:
    sinks.slack.answer(Reply(429, "rate_limited", {"Retry-After": "2"}), Reply(200, "ok"))
    sinks.telegram.answer(
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 3",
                "parameters": {"retry_after": 3},
            },
        ),
        Reply(200, {"ok": True, "result": {}}),
    )
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["slack"].status == out["telegram"].status == "delivered"
    assert sorted(h.sleeps) == [2.0, 3.0]


def test_400_is_never_retried_and_is_dead_lettered(sinks: Sinks) -> None:
    sinks.pagerduty.answer(
        Reply(400, {"status": "invalid event", "message": "Event object is invalid"})
    )
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["pagerduty"].status == "dead_lettered"
    assert out["pagerduty"].attempts == 1
    assert len(sinks.pagerduty.requests) == 1
    assert out["slack"].status == out["telegram"].status == "delivered"
    [dead] = h.dlq.records
    assert dead["channel"] == "pagerduty"
    assert dead["reason"] == "HTTP 400 refused"
    assert dead["alert"]["name"] == "edge-prod-NodeDown"


def test_telegram_ok_false_is_not_a_delivery(sinks: Sinks) -> None:
    sinks.telegram.answer(Reply(200, {"ok": False, "description": "Bad Request: chat not found"}))
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["telegram"].status == "dead_lettered"


def test_500_until_the_attempts_run_out(sinks: Sinks) -> None:
    sinks.slack.answer(Reply(500))
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["slack"].status == "dead_lettered"
    assert len(sinks.slack.requests) == 4
    assert h.dlq.records[0]["reason"] == "gave up after 4 attempts: HTTP 500"


def test_a_silent_server_times_out_and_is_dead_lettered(sinks: Sinks) -> None:
    sinks.telegram.answer(HANG, HANG)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, timeout=3.0)
    h = build(sinks, policy=policy)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["telegram"].status == "dead_lettered"
    assert out["telegram"].reason == "gave up after 2 attempts: no answer within 3 s"
    assert out["slack"].status == out["pagerduty"].status == "delivered"


def test_no_retry_past_the_deadline(sinks: Sinks) -> None:
    sinks.slack.answer(Reply(429, "rate_limited", {"Retry-After": "60"}))
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 20))
    assert out["slack"].status == "dead_lettered" and out["slack"].attempts == 1
    assert h.sleeps == []


def test_a_refused_dead_letter_fails_the_invocation_after_the_rest(sinks: Sinks) -> None:
    sinks.slack.answer(Reply(400, "invalid_payload"))
    h = build(sinks)
    h.dlq.broken = True
    with pytest.raises(DeliveryIncomplete, match="slack edge-prod-NodeDown: slack failed"):
        h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30)
    # the other channels were still delivered
    assert len(sinks.pagerduty.requests) == len(sinks.telegram.requests) == 1


def test_a_duplicate_is_delivered_once_per_channel(sinks: Sinks) -> None:
    h = build(sinks)
    event = recorded("sns_cloudwatch_alarm")
    h.fanout.deliver(parse_event(event), 30)
    again = h.fanout.deliver(parse_event(event), 30)
    assert {o.status for o in again} == {"duplicate"}
    assert [len(s.requests) for s in sinks.all()] == [1, 1, 1]


def test_secrets_appear_in_no_outcome_dead_letter_or_error(sinks: Sinks) -> None:
    # an answer that echoes the request, as some services do on errors
    sinks.pagerduty.answer(Reply(400, {"errors": [f"bad routing_key {ROUTING_KEY}"]}))
    sinks.slack.answer(Reply(500))
    sinks.telegram.answer(HANG)
    policy = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.01, timeout=3.0)
    h = build(sinks, policy=policy)
    out = h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30)
    text = repr([o.as_dict() for o in out]) + repr(h.dlq.records)
    h.dlq.broken = True
    with pytest.raises(DeliveryIncomplete) as err:
        h.fanout.deliver(parse_event(recorded("sns_cloudwatch_ok")), 30)
    text += str(err.value)
    for secret in [*h.secrets.values(), SLACK_PATH, sinks.slack.url + SLACK_PATH]:
        assert secret not in text
    assert "HTTP 500" in text and "no answer within" in text


def test_a_refused_webhook_is_fetched_again_once(sinks: Sinks) -> None:
    """Slack's webhook rotated in Secrets Manager: the cached one is refused (403), the fresh
    one is fetched bypassing the cache, and the message goes out without a restart."""
    h = build(sinks)
    old = h.secrets
    new = old.model_copy(update={"slack_webhook_url": SecretStr(sinks.slack.url + "/services/NEW")})
    forced: list[bool] = []

    def fetch(force: bool) -> AlertSecrets:
        forced.append(force)
        return new if force else old

    box = SecretBox(fetch)
    h.fanout.box = box
    h.fanout.senders[Channel.SLACK] = SlackSender(HttpTransport(2.0), box, CTX)
    sinks.slack.answer(Reply(403, "invalid_token"), Reply(200, "ok"))
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["slack"].status == "delivered", out["slack"].reason
    assert forced == [False, True]
    assert [r.path for r in sinks.slack.requests] == [SLACK_PATH, "/services/NEW"]


def test_refused_again_after_the_refetch_is_dead_lettered(sinks: Sinks) -> None:
    sinks.telegram.answer(
        Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    )
    h = build(sinks)
    out = by_channel(h.fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30))
    assert out["telegram"].status == "dead_lettered"
    assert out["telegram"].reason == "HTTP 401 credentials refused"
    assert len(sinks.telegram.requests) == 2  # the cached secret, then the fetched one


def test_no_debug_line_carries_a_token(sinks: Sinks, caplog: pytest.LogCaptureFixture) -> None:
    """Even with every logger at DEBUG (urllib3 writes each request line there)."""
    caplog.set_level(logging.DEBUG)
    sinks.telegram.answer(Reply(500), Reply(200, {"ok": True, "result": {}}))
    build(sinks).fanout.deliver(parse_event(recorded("sns_cloudwatch_alarm")), 30)
    assert len(sinks.telegram.requests) == 2
    for secret in (BOT_TOKEN, ROUTING_KEY, SLACK_PATH):
        assert secret not in caplog.text
