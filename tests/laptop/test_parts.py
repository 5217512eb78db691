"""The stack's own parts, each alone: Alertmanager alerts into the real runbook (moto), the
receivers (a failing handler answers 500 so Alertmanager retries), the chat stand-in (records,
refuses what is not a post), and the stack's AWS resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import urllib3
from moto import mock_aws

from laptop.aws import MotoServer, create_resources
from laptop.chat import ChatStandIn
from laptop.receivers import Receivers
from laptop.runbook import run_runbook, triggers


def webhook(status: str, fingerprint: str = "abc123") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": '{}:{alertname="RpcHeadLag"}',
        "status": status,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "RpcHeadLag", "severity": "high"},
                "annotations": {"summary": "behind"},
                "startsAt": "2026-12-02T03:00:00Z",
                "fingerprint": fingerprint,
            }
        ],
    }


@pytest.fixture
def moto_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for k, v in (
        ("AWS_ACCESS_KEY_ID", "t"),
        ("AWS_SECRET_ACCESS_KEY", "t"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("EDGE_OPS_STOP_PARAMETER", "/edge/t/stop"),
        ("EDGE_OPS_INCIDENTS_TO", "s3://reports/incidents"),
        ("EDGE_OPS_NODE_URL", "http://127.0.0.1:9"),  # must not be used: the flag path
    ):
        monkeypatch.setenv(k, v)
    for k in ("AWS_ENDPOINT_URL", "EDGE_OPS_DATABASE_URL", "DATABASE_URL"):
        monkeypatch.delenv(k, raising=False)
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        s3 = boto3.client("s3", region_name="us-east-1")
        ssm.put_parameter(Name="/edge/t/stop", Value="false", Type="String")
        s3.create_bucket(Bucket="reports")
        yield ssm, s3


def test_firing_alerts_become_runbook_triggers() -> None:
    payload = webhook("firing")
    payload["alerts"].append({**webhook("resolved")["alerts"][0], "fingerprint": "x"})
    (t,) = triggers(payload)
    assert (t.alarm, t.state, t.changed_at, t.reason) == (
        "RpcHeadLag",
        "ALARM",
        "2026-12-02T03:00:00Z",
        "behind",
    )
    assert triggers(webhook("resolved")) == []


def test_the_runbook_pauses_through_the_flag_and_files_an_incident(
    moto_env: tuple[Any, Any],
) -> None:
    ssm, s3 = moto_env
    (result,) = run_runbook("pause-trading", webhook("firing"))
    assert result["acted"] and result["ok"], result
    assert "ssm" in result["summary"]
    assert ssm.get_parameter(Name="/edge/t/stop")["Parameter"]["Value"] == "pause"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]]
    assert len(keys) == 1 and keys[0].startswith("incidents/")
    text = s3.get_object(Bucket="reports", Key=keys[0])["Body"].read().decode()
    assert "RpcHeadLag" in text


def test_a_resolution_runs_nothing(moto_env: tuple[Any, Any]) -> None:
    ssm, s3 = moto_env
    assert run_runbook("pause-trading", webhook("resolved")) == []
    assert ssm.get_parameter(Name="/edge/t/stop")["Parameter"]["Value"] == "false"
    assert s3.list_objects_v2(Bucket="reports").get("KeyCount") == 0


def test_receivers_answer_500_when_the_handler_fails() -> None:
    def broken(_payload: dict[str, Any]) -> None:
        raise RuntimeError("secret unreadable")

    seen: list[dict[str, Any]] = []

    def ok(payload: dict[str, Any]) -> dict[str, bool]:
        seen.append(payload)
        return {"ok": True}

    r = Receivers({"/fanout": broken, "/ok": ok}).start()
    try:
        body = json.dumps(webhook("firing")).encode()
        failed = urllib3.request("POST", f"{r.url}/fanout", body=body, retries=False)
        assert failed.status == 500 and b"secret unreadable" in failed.data
        assert urllib3.request("POST", f"{r.url}/ok", body=body, retries=False).status == 200
        assert seen == [webhook("firing")]
        assert urllib3.request("POST", f"{r.url}/nowhere", body=body, retries=False).status == 404
        assert urllib3.request("POST", f"{r.url}/ok", body=b"[1", retries=False).status == 400
        assert [(d.path, d.ok) for d in r.deliveries] == [("/fanout", False), ("/ok", True)]
    finally:
        r.stop()


def test_chat_stand_in_records_posts_and_shows_them() -> None:
    chat = ChatStandIn().start()
    try:
        post = urllib3.request("POST", f"{chat.url}/slack", json={"text": "FIRING: <b>x</b>"})
        assert post.status == 200 and post.data == b"ok"
        tg = urllib3.request(
            "POST", f"{chat.url}/telegram/botTOKEN/sendMessage", json={"text": "t"}
        )
        assert tg.status == 200
        assert urllib3.request("POST", f"{chat.url}/teams", json={"text": "t"}).status == 400
        assert urllib3.request("POST", f"{chat.url}/slack", body=b"not json").status == 400
        assert [(p.channel, p.text) for p in chat.snapshot()] == [
            ("slack", "FIRING: <b>x</b>"),
            ("telegram", "t"),
        ]
        page = urllib3.request("GET", f"{chat.url}/").data.decode()
        assert "FIRING: &lt;b&gt;x&lt;/b&gt;" in page  # escaped, never rendered
        listed = json.loads(urllib3.request("GET", f"{chat.url}/posts.json").data)
        assert [p["channel"] for p in listed] == ["slack", "telegram"]
    finally:
        chat.stop()


def test_resources_are_made_in_moto() -> None:
    moto = MotoServer().start()
    try:
        res = create_resources(moto.url, "http://127.0.0.1:9")
        env = res.env("http://127.0.0.1:9")
        assert env["AWS_ENDPOINT_URL"] == moto.url
        assert env["EDGE_OPS_REPORT_TO"] == f"s3://{res.reports_bucket}/reports"
        sm = boto3.client(
            "secretsmanager",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        secret = json.loads(sm.get_secret_value(SecretId=res.alert_secret_id)["SecretString"])
        assert secret["slack_webhook_url"] == "http://127.0.0.1:9/slack"
    finally:
        moto.stop()


def test_missing_tools_fail_under_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.laptop.conftest import require_monitoring_tools

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and prometheus is not installed"):
        require_monitoring_tools()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_monitoring_tools()


def test_the_ports_chosen_for_prometheus_and_alertmanager_differ() -> None:
    from laptop.stack import free_ports

    ports = free_ports(20)
    assert len(set(ports)) == 20
