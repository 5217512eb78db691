"""``edge-ops alert`` (functions/fanout/cli.py) as a person runs it: the installed script in a
subprocess, against the moto server (the channels' secret, the dead-letter queue) and the local
sinks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.functions.cli_runner import edge_ops
from tests.functions.fanout.harness import BOT_TOKEN, ROUTING_KEY, SLACK_PATH, secrets_for
from tests.functions.fanout.recorded import EVENTS
from tests.functions.fanout.sinks import Reply, Sinks, running_sinks

SECRET_ID = "edge/prod/alerts"


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    with running_sinks() as s:
        yield s


def _client(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint, region_name="us-east-1"
    )


@pytest.fixture
def env(cli_env: dict[str, str], sinks: Sinks) -> dict[str, str]:
    endpoint = cli_env["AWS_ENDPOINT_URL"]
    secret = secrets_for(sinks)
    _client("secretsmanager", endpoint).create_secret(
        Name=SECRET_ID, SecretString=json.dumps({k: v.get_secret_value() for k, v in secret})
    )
    return {
        **cli_env,
        "EDGE_OPS_ALERT_SECRET_ID": SECRET_ID,
        "EDGE_OPS_ALERT_PAGERDUTY_URL": sinks.pagerduty.url + "/v2/enqueue",
        "EDGE_OPS_ALERT_TELEGRAM_API": sinks.telegram.url,
        "EDGE_OPS_ALERT_HTTP_TIMEOUT_S": "1",
        "EDGE_OPS_ALERT_MAX_ATTEMPTS": "2",
    }


def test_send_critical_pages_and_posts(env: dict[str, str], sinks: Sinks) -> None:
    done = edge_ops(
        "alert",
        "send",
        "--severity",
        "S1",
        "--summary",
        "node bsc-1 unreachable",
        "--resource",
        "bsc-1",
        "--value",
        "0",
        "--threshold",
        "healthz < 1",
        "--action",
        "restart requested",
        "--link",
        "Grafana=https://grafana.example/d/x",
        "--json",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert sorted(o["channel"] for o in result["outcomes"]) == ["pagerduty", "slack", "telegram"]
    [pd] = sinks.pagerduty.bodies()
    assert pd["event_action"] == "trigger"
    assert pd["dedup_key"] == "edge-ops/ManualAlert/bsc-1"
    resolved = edge_ops(
        "alert",
        "send",
        "-s",
        "S1",
        "-m",
        "node back",
        "--resource",
        "bsc-1",
        "--resolve",
        env=env,
    )
    assert resolved.returncode == 0, resolved.stderr
    assert "pagerduty: delivered ManualAlert (resolved" in resolved.stdout
    assert sinks.pagerduty.bodies()[1]["event_action"] == "resolve"
    assert sinks.pagerduty.bodies()[1]["dedup_key"] == pd["dedup_key"]


def test_send_medium_goes_to_slack_only(env: dict[str, str], sinks: Sinks) -> None:
    done = edge_ops("alert", "send", "-s", "P2", "-m", "slow queries", env=env)
    assert done.returncode == 0, done.stderr
    assert len(sinks.slack.requests) == 1
    assert not sinks.pagerduty.requests and not sinks.telegram.requests


def test_a_refused_channel_fails_with_one_line_and_no_secret(
    env: dict[str, str], sinks: Sinks
) -> None:
    sinks.slack.answer(Reply(400, "invalid_payload"))
    done = edge_ops("alert", "send", "-s", "critical", "-m", "x", env=env)
    assert done.returncode == 1
    assert "slack: dead_lettered" in done.stdout
    assert done.stderr.strip().splitlines() == [
        "edge-ops: error: 1 delivery(ies) failed: slack (HTTP 400 refused)"
    ]
    assert "Traceback" not in done.stderr
    for secret in (ROUTING_KEY, BOT_TOKEN, SLACK_PATH):
        assert secret not in done.stdout + done.stderr


def test_failures_are_parked_in_the_queue_when_configured(
    env: dict[str, str], sinks: Sinks
) -> None:
    sqs = _client("sqs", env["AWS_ENDPOINT_URL"])
    url = sqs.create_queue(QueueName="edge-fanout-dlq")["QueueUrl"]
    sinks.telegram.answer(Reply(500))
    done = edge_ops(
        "alert",
        "send",
        "-s",
        "high",
        "-m",
        "x",
        "--json",
        env={**env, "EDGE_OPS_ALERT_DLQ_URL": url},
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["ok"] is False  # one JSON object, saying it failed
    [msg] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(msg["Body"])["channel"] == "telegram"


def test_test_reaches_every_channel_and_resolves_pagerduty(
    env: dict[str, str], sinks: Sinks
) -> None:
    done = edge_ops("alert", "test", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert [b["event_action"] for b in sinks.pagerduty.bodies()] == ["trigger", "resolve"]
    assert len(sinks.slack.requests) == len(sinks.telegram.requests) == 1
    only = edge_ops("alert", "test", "--channel", "telegram", env=env)
    assert only.returncode == 0 and len(sinks.telegram.requests) == 2
    email = edge_ops("alert", "test", "--channel", "email", env=env)
    assert email.returncode == 2
    assert "channel email is asked for but not configured" in email.stderr


def test_send_a_recorded_event(env: dict[str, str], sinks: Sinks) -> None:
    path = str(EVENTS / "fanout_alertmanager_v4.json")
    done = edge_ops("alert", "send", "--event", path, "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["alerts"] == 2
    assert len(sinks.pagerduty.requests) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-s", "urgent", "-m", "x"], "Invalid value for '--severity'"),
        (["-s", "S1"], "--severity and --summary are required"),
        (["-s", "S1", "-m", "x", "--link", "nourl"], "--link 'nourl': expected TEXT=https://"),
        (["--event", "/nonexistent.json"], "cannot read /nonexistent.json"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    env: dict[str, str], sinks: Sinks, args: list[str], message: str
) -> None:
    done = edge_ops("alert", "send", *args, env=env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not any(s.requests for s in sinks.all())


def test_an_unreadable_event_file(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "e.json"
    bad.write_text(json.dumps({"version": "3", "groupKey": "x", "alerts": [{}]}))
    done = edge_ops("alert", "send", "--event", str(bad), env=env)
    assert done.returncode == 2
    assert "only version 4 is read" in done.stderr


def test_dry_run_needs_no_secret(cli_env: dict[str, str], sinks: Sinks) -> None:
    done = edge_ops("alert", "send", "-s", "S1", "-m", "x", "--dry-run", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    [shown] = json.loads(done.stdout)["alerts"]
    assert shown["routes"] == ["pagerduty", "slack", "telegram"]
    assert not any(s.requests for s in sinks.all())


def test_without_the_secret_setting(cli_env: dict[str, str]) -> None:
    done = edge_ops("alert", "test", env=cli_env)
    assert done.returncode == 2
    assert "EDGE_OPS_ALERT_SECRET_ID" in done.stderr


def test_routes(cli_env: dict[str, str]) -> None:
    done = edge_ops("alert", "routes", "--json", env=cli_env)
    assert json.loads(done.stdout) == {
        "critical (S1/P0)": ["pagerduty", "slack", "telegram"],
        "high (S2/P1)": ["slack", "telegram"],
        "medium (S3/P2)": ["slack"],
        "low (S4/P3)": ["slack", "email (when configured)"],
    }


def test_redrive_sends_parked_alerts_once_the_channel_works(
    env: dict[str, str], sinks: Sinks
) -> None:
    sqs = _client("sqs", env["AWS_ENDPOINT_URL"])
    url = sqs.create_queue(QueueName="edge-fanout-dlq")["QueueUrl"]
    env = {**env, "EDGE_OPS_ALERT_DLQ_URL": url}
    sinks.slack.answer(Reply(400, "invalid_payload"))
    assert edge_ops("alert", "send", "-s", "high", "-m", "parked", env=env).returncode == 1
    sqs.send_message(QueueUrl=url, MessageBody="not ours")
    # still refused: parked again (a new message), the old one consumed
    again = edge_ops("alert", "redrive", "--json", env=env)
    assert again.returncode == 1
    result = json.loads(again.stdout)
    assert [o["status"] for o in result["outcomes"]] == ["dead_lettered"]
    assert len(result["unreadable_left_in_queue"]) == 1
    sinks.slack.answer(Reply(200, "ok"))
    done = edge_ops("alert", "redrive", env=env)
    assert "slack: delivered ManualAlert (firing)" in done.stdout
    assert sinks.slack.bodies()[-1]["text"].endswith("parked")
    assert len(sinks.telegram.requests) == 1  # only the failed channel is sent again
    left = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert [m["Body"] for m in left.get("Messages", [])] == ["not ours"]


def test_redrive_without_a_queue(env: dict[str, str]) -> None:
    done = edge_ops("alert", "redrive", env=env)
    assert done.returncode == 2
    assert "EDGE_OPS_ALERT_DLQ_URL is not set" in done.stderr
