"""The Lambda handler with moto (Secrets Manager, DynamoDB, SQS) and the local sinks: what a
recorded SNS event does end to end, what it prints (logs and EMF), and what it never prints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.common.errors import BadInput, Unavailable
from tests.functions.events import FakeLambdaContext, emf_metrics, json_lines
from tests.functions.fanout.harness import BOT_TOKEN, ROUTING_KEY, SLACK_PATH, secrets_for
from tests.functions.fanout.recorded import recorded
from tests.functions.fanout.sinks import HANG, Reply, Sinks, running_sinks

SECRET_ID = "edge/prod/alerts"


def _handler() -> Any:
    """Imported when first used, not at collection: importing a handler module points the
    shared ``functions`` loggers at its Logger (functions/common/observability.py), which would
    change what other test modules' handlers log if it happened before they ran."""
    from functions.fanout import handler

    return handler


TABLE = "edge-fanout-idempotency"


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with running_sinks() as s:
        yield s


@pytest.fixture
def deployed(aws: AwsClients, sinks: Sinks, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The fan-out's AWS resources in moto, its environment set; yields the DLQ URL."""
    secret = secrets_for(sinks)
    aws.secretsmanager.create_secret(
        Name=SECRET_ID,
        SecretString=json.dumps({k: v.get_secret_value() for k, v in secret}),
    )
    aws.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dlq = aws.client("sqs").create_queue(QueueName="edge-fanout-dlq")["QueueUrl"]
    for key, value in {
        "EDGE_OPS_ALERT_SECRET_ID": SECRET_ID,
        "EDGE_OPS_ALERT_IDEMPOTENCY_TABLE": TABLE,
        "EDGE_OPS_ALERT_DLQ_URL": dlq,
        "EDGE_OPS_ALERT_PAGERDUTY_URL": sinks.pagerduty.url + "/v2/enqueue",
        "EDGE_OPS_ALERT_TELEGRAM_API": sinks.telegram.url,
        # generous: a loaded machine must not turn a slow answer into a retried POST
        "EDGE_OPS_ALERT_HTTP_TIMEOUT_S": "5",
        "EDGE_OPS_ALERT_MAX_ATTEMPTS": "2",
        "EDGE_OPS_ALERT_RUNBOOK_BASE_URL": "https://github.com/example/edge/blob/main/README.md",
    }.items():
        monkeypatch.setenv(key, value)
    _handler().reset()
    yield dlq
    _handler().reset()


def hanging_channels_time_out_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests where a channel never answers wait 0.5 s per attempt, not 5 s."""
    monkeypatch.setenv("EDGE_OPS_ALERT_HTTP_TIMEOUT_S", "0.5")
    _handler().reset()


def invoke(event: dict[str, Any], **ctx: Any) -> dict[str, Any]:
    result: dict[str, Any] = _handler().handler(event, FakeLambdaContext(**ctx))
    return result


def dead_letters(aws: AwsClients, url: str) -> list[dict[str, Any]]:
    got = aws.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def test_a_cloudwatch_alarm_through_sns(
    deployed: str, sinks: Sinks, capsys: pytest.CaptureFixture[str]
) -> None:
    result = invoke(recorded("sns_cloudwatch_alarm"))
    assert result["ok"] is True
    assert result["by_status"] == {"delivered": 3}
    assert [len(s.requests) for s in sinks.all()] == [1, 1, 1]
    printed = capsys.readouterr().out
    assert emf_metrics(printed)["AlertsReceived"] == [1.0]
    assert emf_metrics(printed)["AlertDelivered"] == [1.0]
    assert emf_metrics(printed)["AlertsDeadLettered"] == [0.0]
    lines = [x for x in json_lines(printed) if x.get("message") == "alert delivered"]
    assert {x["channel"] for x in lines} == {"slack", "pagerduty", "telegram"}
    assert all(x["function_request_id"] for x in lines)  # inject_lambda_context


def test_sns_delivering_twice_reaches_each_channel_once(deployed: str, sinks: Sinks) -> None:
    event = recorded("sns_cloudwatch_alarm")
    assert invoke(event)["by_status"] == {"delivered": 3}
    _handler().reset()  # another instance (cold start) gets the duplicate
    again = invoke(event)
    assert again["by_status"] == {"duplicate": 3}
    assert [len(s.requests) for s in sinks.all()] == [1, 1, 1]


def test_failures_go_to_the_dead_letter_queue_with_their_metric(
    deployed: str,
    aws: AwsClients,
    sinks: Sinks,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hanging_channels_time_out_fast(monkeypatch)
    sinks.pagerduty.answer(Reply(400, {"status": "invalid event"}))
    sinks.telegram.answer(HANG)
    result = invoke(recorded("sns_cloudwatch_alarm"))
    assert result["by_status"] == {"dead_lettered": 2, "delivered": 1}
    parked = dead_letters(aws, deployed)
    assert sorted(p["channel"] for p in parked) == ["pagerduty", "telegram"]
    assert all(p["alert"]["name"] == "edge-prod-NodeDown" for p in parked)
    printed = capsys.readouterr().out
    assert emf_metrics(printed)["AlertsDeadLettered"] == [2.0]
    errors = [x for x in json_lines(printed) if x.get("level") == "ERROR"]
    assert {x["channel"] for x in errors} == {"pagerduty", "telegram"}


def test_secrets_never_in_a_log_line_metric_or_result(
    deployed: str,
    aws: AwsClients,
    sinks: Sinks,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hanging_channels_time_out_fast(monkeypatch)
    sinks.pagerduty.answer(Reply(400, {"errors": [f"routing key {ROUTING_KEY} unknown"]}))
    sinks.slack.answer(Reply(500))
    sinks.telegram.answer(HANG)
    result = invoke(recorded("sns_cloudwatch_alarm"))
    text = json.dumps(result) + json.dumps(dead_letters(aws, deployed))
    captured = capsys.readouterr()
    text += captured.out + captured.err
    assert "dead_lettered" in text
    for secret in (ROUTING_KEY, BOT_TOKEN, SLACK_PATH, "SECRET0", "telegram0token"):
        assert secret not in text


def test_an_unreachable_dead_letter_queue_fails_the_invocation(
    deployed: str,
    sinks: Sinks,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(
        "EDGE_OPS_ALERT_DLQ_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/missing"
    )
    _handler().reset()
    sinks.slack.answer(Reply(400, "invalid_payload"))
    with pytest.raises(Unavailable, match="neither sent nor dead-lettered"):
        invoke(recorded("sns_cloudwatch_alarm"))
    printed = capsys.readouterr().out
    assert emf_metrics(printed)["AlertDeliveryIncomplete"] == [1.0]
    assert SLACK_PATH not in printed
    # the retry (Lambda's) delivers what the failed run could not park
    sinks.slack.answer(Reply(200, "ok"))
    again = invoke(recorded("sns_cloudwatch_alarm"))
    assert {o["channel"]: o["status"] for o in again["outcomes"]} == {
        "pagerduty": "duplicate",
        "slack": "delivered",
        "telegram": "duplicate",
    }


def test_direct_invocation_with_an_internal_event(deployed: str, sinks: Sinks) -> None:
    result = invoke(recorded("internal_emergency_stop"))
    assert result["by_status"] == {"delivered": 3}
    [pd] = sinks.pagerduty.bodies()
    assert pd["payload"]["custom_details"]["already_done"].startswith("admin API")


def test_alertmanager_webhook_direct(deployed: str, sinks: Sinks) -> None:
    result = invoke(recorded("alertmanager_v4"))
    assert result["alerts"] == 2 and result["by_status"] == {"delivered": 6}


def test_a_direct_event_nobody_can_read_is_bad_input(
    deployed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BadInput, match="unreadable alert event: internal event: kind"):
        invoke({"kind": "nonsense", "summary": "x"})
    assert emf_metrics(capsys.readouterr().out)["AlertsUnreadable"] == [1.0]


def test_missing_settings_name_the_variable(deployed: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EDGE_OPS_ALERT_IDEMPOTENCY_TABLE")
    _handler().reset()
    with pytest.raises(BadInput, match="EDGE_OPS_ALERT_IDEMPOTENCY_TABLE"):
        invoke(recorded("sns_cloudwatch_alarm"))


def test_a_secret_missing_a_field_is_named_not_quoted(deployed: str, aws: AwsClients) -> None:
    aws.secretsmanager.put_secret_value(
        SecretId=SECRET_ID, SecretString=json.dumps({"slack_webhook_url": "https://x/SECRETX"})
    )
    _handler().reset()
    with pytest.raises(BadInput) as err:
        invoke(recorded("sns_cloudwatch_alarm"))
    assert "pagerduty_routing_key" in str(err.value)
    assert "SECRETX" not in str(err.value)


def test_several_records_each_delivered_and_checked(
    deployed: str, aws: AwsClients, sinks: Sinks
) -> None:
    """Not only the last record's answer counts (terraform-aws-notify-slack #205)."""
    sinks.telegram.answer(Reply(200, {"ok": True, "result": {}}))
    result = invoke(recorded("sns_several_records"))
    assert result["alerts"] == 3
    # stale price (high): slack + telegram; backup text (critical): all three; cut JSON: 2
    assert result["by_status"] == {"delivered": 7}
    assert len(sinks.pagerduty.requests) == 1
    assert len(sinks.slack.requests) == len(sinks.telegram.requests) == 3


def test_an_unusable_idempotency_table_still_delivers_and_says_so(
    deployed: str,
    sinks: Sinks,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDGE_OPS_ALERT_IDEMPOTENCY_TABLE", "dropped-table")
    _handler().reset()
    result = invoke(recorded("sns_cloudwatch_alarm"))
    assert result["by_status"] == {"delivered": 3}
    assert emf_metrics(capsys.readouterr().out)["AlertIdempotencyUnavailable"] == [3.0]
