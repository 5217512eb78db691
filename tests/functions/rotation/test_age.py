"""The secret-age check: overdue secrets and stuck rotations warn (metric, log line, fan-out
event), nothing else does, and no value is ever read."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.common.errors import BadInput
from functions.rotation.age import assess
from functions.rotation.kinds import SecretKind, max_age_days
from tests.functions.events import FakeLambdaContext, emf_metrics, json_lines, scheduled_event
from tests.support.rotation import SecretsManagerDriver

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def tag(kind: str, **more: str) -> Any:
    tags = [{"Key": "edge-ops:secret-kind", "Value": kind}]
    tags += [{"Key": f"edge-ops:{k.replace('_', '-')}", "Value": v} for k, v in more.items()]
    return tags


def test_assess_against_the_schedules() -> None:
    day = timedelta(days=1)
    stuck = timedelta(hours=24)
    token = assess("t", SecretKind.API_TOKEN, 90, T0, None, T0 + 90 * day, stuck)
    assert token.ok and token.age_days == 90
    late = assess(
        "t", SecretKind.API_TOKEN, 90, T0, None, T0 + 90 * day + timedelta(hours=1), stuck
    )
    assert late.overdue and "edge-ops rotate t" in late.advice
    key = assess("k", SecretKind.API_KEY, 180, T0, None, T0 + 181 * day, stuck)
    assert key.overdue and "at the provider" in key.advice
    pending = assess("d", SecretKind.DATABASE, 90, T0, T0, T0 + 2 * day, stuck)
    assert pending.rotation_stuck and not pending.overdue and "--abandon" in pending.advice
    assert assess("d", SecretKind.DATABASE, 90, T0, T0, T0 + 20 * timedelta(hours=1), stuck).ok
    assert SecretKind.API_TOKEN.max_age_days == SecretKind.DATABASE.max_age_days == 90
    assert SecretKind.API_KEY.max_age_days == 180


def test_max_age_tag_overrides_and_is_checked() -> None:
    meta = {"Name": "x", "Tags": tag("api-key", max_age_days="30")}
    assert max_age_days(meta, SecretKind.API_KEY) == 30
    with pytest.raises(BadInput, match="whole number of days"):
        max_age_days({"Name": "x", "Tags": tag("api-key", max_age_days="soon")}, SecretKind.API_KEY)


def _secrets(aws: AwsClients) -> None:
    sm = aws.secretsmanager
    sm.create_secret(Name="edge/api-token", SecretString="a" * 64, Tags=tag("api-token"))
    sm.create_secret(Name="edge/db", SecretString='{"x": 1}', Tags=tag("database"))
    sm.create_secret(Name="edge/rpc-key", SecretString="provider-key", Tags=tag("api-key"))
    sm.create_secret(Name="someone-elses", SecretString="not ours")


@pytest.fixture
def run_age(
    rotation_handler: ModuleType, capsys: pytest.CaptureFixture[str]
) -> Callable[[datetime], tuple[dict[str, Any], str]]:
    def run(at: datetime) -> tuple[dict[str, Any], str]:
        event = scheduled_event(time=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
        result = rotation_handler.age(event, FakeLambdaContext())
        return result, capsys.readouterr().out

    return run


def test_age_check_warns_only_about_overdue_secrets(
    handler_clients: AwsClients,
    run_age: Callable[[datetime], tuple[dict[str, Any], str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws = handler_clients
    _secrets(aws)
    now = datetime.now(UTC)
    result, out = run_age(now + timedelta(days=30))
    assert result == {"checked": 3, "overdue": [], "rotation_stuck": [], "announced": False}
    assert emf_metrics(out)["SecretsOverdue"] == [0.0]

    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
    topic = aws.sns.create_topic(Name="edge-ops-alerts")["TopicArn"]
    aws.sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn["Attributes"]["QueueArn"],
        Attributes={"RawMessageDelivery": "true"},
    )
    monkeypatch.setenv("EDGE_OPS_NOTIFY_TOPIC_ARN", topic)
    result, out = run_age(now + timedelta(days=91))
    assert result["overdue"] == ["edge/api-token", "edge/db"]  # the key has 180 days
    assert result["announced"] is True
    assert emf_metrics(out)["SecretsOverdue"] == [2.0]
    overdue_record = next(r for r in json_lines(out) if "SecretsOverdue" in r)
    assert overdue_record["service"] == "secret-age"  # the dimension the SecretAge alarm reads
    ages = {r["secret"]: r["SecretAgeDays"] for r in json_lines(out) if "SecretAgeDays" in r}
    assert set(ages) == {"edge/api-token", "edge/db", "edge/rpc-key"}
    assert all(age == [pytest.approx(91, abs=0.1)] for age in ages.values())
    warnings = [r for r in json_lines(out) if r.get("message") == "secret overdue"]
    assert sorted(w["secret"] for w in warnings) == ["edge/api-token", "edge/db"]
    assert "provider-key" not in out and "a" * 64 not in out

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    events = sorted((json.loads(m["Body"]) for m in messages), key=lambda e: e["resource"])
    assert [(e["kind"], e["name"], e["resource"], e["severity"]) for e in events] == [
        ("alert", "SecretOverdue", "edge/api-token", "medium"),
        ("alert", "SecretOverdue", "edge/db", "medium"),
    ]
    assert events[0]["threshold"] == "90 days" and events[0]["value"].startswith("91.0")
    assert "edge-ops rotate edge/api-token" in events[0]["description"]

    result, _ = run_age(now + timedelta(days=181))
    assert result["overdue"] == ["edge/api-token", "edge/db", "edge/rpc-key"]


def test_a_rotation_left_half_done_is_reported(
    driver: SecretsManagerDriver,
    handler_clients: AwsClients,
    run_age: Callable[[datetime], tuple[dict[str, Any], str]],
) -> None:
    _secrets(handler_clients)
    driver.open("edge/api-token")  # Secrets Manager staged it; the function never ran
    now = datetime.now(UTC)
    result, _ = run_age(now + timedelta(hours=2))
    assert result["rotation_stuck"] == []
    result, out = run_age(now + timedelta(days=2))
    assert result["rotation_stuck"] == ["edge/api-token"] and result["overdue"] == []
    assert emf_metrics(out)["SecretRotationsStuck"] == [1.0]


def test_the_secrets_infra_names_by_role(
    handler_clients: AwsClients,
    run_age: Callable[[datetime], tuple[dict[str, Any], str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """infra passes the three secrets (untagged) by role, with their limits."""
    from botocore.exceptions import ClientError

    sm = handler_clients.secretsmanager
    arns = {
        role: sm.create_secret(Name=f"edge/{role}", SecretString="v")["ARN"]
        for role in ("api-token", "db-credentials", "rpc-keys")
    }
    monkeypatch.setenv("EDGE_OPS_SECRET_IDS", json.dumps(arns))
    monkeypatch.setenv("EDGE_OPS_SECRET_MAX_AGE_DAYS", json.dumps({"rpc-keys": 100}))
    now = datetime.now(UTC)
    result, _ = run_age(now + timedelta(days=101))
    assert result["checked"] == 3
    assert result["overdue"] == ["edge/api-token", "edge/db-credentials", "edge/rpc-keys"]
    result, _ = run_age(now + timedelta(days=95))
    assert result["overdue"] == ["edge/api-token", "edge/db-credentials"]

    # allowed DescribeSecret only: the secret's last change stands for its value's
    def denied(**_: Any) -> None:
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListSecretVersionIds"
        )

    sm.meta.events.register("before-call.secrets-manager.ListSecretVersionIds", denied)
    result, _ = run_age(now + timedelta(days=95))
    assert result["overdue"] == ["edge/api-token", "edge/db-credentials"]
    monkeypatch.setenv("EDGE_OPS_SECRET_IDS", json.dumps({"mystery": arns["rpc-keys"]}))
    with pytest.raises(BadInput, match="unknown role 'mystery'"):
        run_age(now)
