"""The stack's own parts, each alone: an alert as the edge host's Alertmanager publishes it to
SNS, into the runbook function as Lambda hands it (gated: moto's lock table, once per alert,
never on a resolution), the control endpoints (a failing one answers 500), the chat stand-in
(records, refuses what is not a post), and the stack's AWS resources."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import urllib3

from infra import catalog
from infra.monitoring import alertmanager_sns
from laptop.aws import MotoServer, Resources, client, create_resources, environment
from laptop.chat import ChatStandIn
from laptop.control import Control
from laptop.receivers import lambda_sns_event
from laptop.runbook import run_runbook
from shared import alert_notice


def notice(
    status: str,
    fingerprint: str = "abc123",
    starts_at: str = "2026-12-02T03:00:00Z",
    runbook: str = "pause-trading",
) -> dict[str, Any]:
    """An SNS notification as the edge host's Alertmanager publishes one alert (its message
    attributes, shared/alert_notice.py), as SNS hands it to a subscriber."""
    values = {
        "source": alert_notice.SOURCE,
        "alertname": "RpcHeadLag",
        "severity": "high",
        "status": status,
        "runbook": runbook,
        "fingerprint": fingerprint,
        "starts_at": starts_at,
        "ends_at": "2026-12-02T03:05:00Z" if status == "resolved" else alert_notice.NONE,
    }
    return {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:edge-laptop-alerts-high",
        "Subject": f"[{status.upper()}] RpcHeadLag",
        "Message": f"{status.upper()} RpcHeadLag: behind\nlabel.alertname: RpcHeadLag\n",
        "Timestamp": "2026-12-02T03:00:01.000Z",
        "MessageAttributes": {k: {"Type": "String", "Value": v} for k, v in values.items()},
    }


class RunbookReceiver:
    """The stack's runbook function on moto with the stack's resources and environment."""

    def __init__(self, moto_url: str) -> None:
        self.res = create_resources(moto_url, "http://127.0.0.1:9")

    def deliver(self, notification: dict[str, Any]) -> list[dict[str, Any]]:
        arn = f"{self.res.topics['high']}:sub-1"
        return run_runbook("pause-trading", lambda_sns_event(notification, arn))

    def flag(self) -> str:
        ssm = client("ssm", self.res.endpoint)
        return str(ssm.get_parameter(Name=self.res.stop_flag)["Parameter"]["Value"])

    def reset_flag(self) -> None:
        ssm = client("ssm", self.res.endpoint)
        ssm.put_parameter(Name=self.res.stop_flag, Value="false", Type="String", Overwrite=True)

    def incidents(self) -> list[str]:
        listing = client("s3", self.res.endpoint).list_objects_v2(
            Bucket=self.res.reports_bucket, Prefix=f"{catalog.INCIDENTS_PREFIX}/"
        )
        return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def receiver() -> Iterator[RunbookReceiver]:
    moto = MotoServer().start()
    try:
        rr = RunbookReceiver(moto.url)
        env = {
            **rr.res.env("http://127.0.0.1:9"),
            # what the stack gives the scheduled functions; the runbook must not use them
            "EDGE_OPS_NODE_URL": "http://127.0.0.1:9",
            "EDGE_OPS_DATABASE_URL": "sqlite:////nonexistent/edge.db",
        }
        with environment(env):
            yield rr
    finally:
        moto.stop()


def test_the_runbook_pauses_through_the_flag_and_files_an_incident(
    receiver: RunbookReceiver,
) -> None:
    (result,) = receiver.deliver(notice("firing"))
    assert result["acted"] and result["ok"], result
    assert "ssm" in result["summary"]
    assert receiver.flag() == "pause"
    keys = receiver.incidents()
    assert len(keys) == 1
    s3 = client("s3", receiver.res.endpoint)
    text = s3.get_object(Bucket=receiver.res.reports_bucket, Key=keys[0])["Body"].read()
    assert b"RpcHeadLag" in text
    assert result["announced"]  # on the stack's low topic in moto


def test_one_firing_alert_acts_once_however_often_it_is_delivered(
    receiver: RunbookReceiver,
) -> None:
    (first,) = receiver.deliver(notice("firing"))
    assert first["acted"]
    receiver.reset_flag()  # so that a second action would show
    for _ in range(2):  # Alertmanager repeating the alert, or SNS redelivering it
        (again,) = receiver.deliver(notice("firing"))
        assert not again["acted"] and "handled already" in again["skipped"]
    assert receiver.flag() == "false"
    assert len(receiver.incidents()) == 1
    # the same alert firing again later is a new state change: acted on
    (later,) = receiver.deliver(notice("firing", starts_at="2026-12-02T04:00:00Z"))
    assert later["acted"] and receiver.flag() == "pause"
    assert len(receiver.incidents()) == 2


def test_a_resolution_runs_nothing(receiver: RunbookReceiver) -> None:
    # the subscription's filter keeps resolutions out (test_subscriptions.py); the function
    # refuses one all the same
    (result,) = receiver.deliver(notice("resolved"))
    assert not result["acted"] and "resolved" in result["skipped"]
    assert receiver.flag() == "false"
    assert receiver.incidents() == []


def test_an_alert_naming_another_runbook_is_not_this_ones(receiver: RunbookReceiver) -> None:
    (result,) = receiver.deliver(notice("firing", runbook="emergency-stop"))
    assert not result["acted"] and "emergency-stop" in result["skipped"]
    assert receiver.flag() == "false"


def test_control_endpoints_answer_500_when_the_function_fails() -> None:
    def broken(_payload: dict[str, Any]) -> None:
        raise RuntimeError("proxy gone")

    seen: list[dict[str, Any]] = []

    def ok(payload: dict[str, Any]) -> dict[str, bool]:
        seen.append(payload)
        return {"ok": True}

    c = Control({"/rpc/cut": broken, "/ok": ok}).start()
    try:
        body = json.dumps({"why": "test"}).encode()
        failed = urllib3.request("POST", f"{c.url}/rpc/cut", body=body, retries=False)
        assert failed.status == 500 and b"proxy gone" in failed.data
        answered = urllib3.request("POST", f"{c.url}/ok", body=body, retries=False)
        assert answered.status == 200 and json.loads(answered.data) == {"ok": True}
        assert seen == [{"why": "test"}]
        assert urllib3.request("POST", f"{c.url}/nowhere", body=body, retries=False).status == 404
        assert urllib3.request("POST", f"{c.url}/ok", body=b"[1", retries=False).status == 400
    finally:
        c.stop()


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
        # every function's on-failure destination, as deployed (infra/alerting.py)
        assert res.failures_url.endswith("/edge-laptop-function-failures")
        sm = boto3.client(
            "secretsmanager",
            endpoint_url=moto.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        secret = json.loads(sm.get_secret_value(SecretId=res.alert_secret_id)["SecretString"])
        assert secret["slack_webhook_url"] == "http://127.0.0.1:9/slack"
        # the runbooks' lock table and topics, under the names infra/functions.py gives them
        assert env["EDGE_OPS_RUNBOOK_TABLE"] == "edge-laptop-runbook-locks"
        ddb = client("dynamodb", moto.url)
        key = ddb.describe_table(TableName=res.runbook_table)["Table"]["KeySchema"]
        assert key == [{"AttributeName": "id", "KeyType": "HASH"}]
        topics = {t["TopicArn"] for t in client("sns", moto.url).list_topics()["Topics"]}
        # the four alert topics, as deployed: the runbooks announce on low, escalate to critical
        assert set(res.topics) == set(alertmanager_sns.SEVERITIES)
        assert set(res.topics.values()) <= topics
        assert env["EDGE_OPS_NOTIFY_TOPIC_ARN"] == res.topics["low"]
        assert env["EDGE_OPS_ESCALATE_TOPIC_ARN"] == res.topics["critical"]
    finally:
        moto.stop()


def test_the_functions_write_under_the_deployed_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The laptop's locations follow infra/catalog's prefixes (which the deployed functions'
    environment and the buckets' lifecycle use), not copies of them."""
    moved = {
        "BACKUPS_PREFIX": ("EDGE_OPS_BACKUP_LOCATION", "b"),
        "REPORTS_PREFIX": ("EDGE_OPS_REPORT_TO", "r"),
        "ARCHIVE_PREFIX": ("EDGE_OPS_PRUNE_ARCHIVE_TO", "r"),
        "INCIDENTS_PREFIX": ("EDGE_OPS_INCIDENTS_TO", "r"),
    }
    for name in moved:
        monkeypatch.setattr(catalog, name, f"moved-{name.lower()}")
    res = Resources(
        endpoint="http://127.0.0.1:9",
        stop_flag="/edge/laptop/emergency-stop",
        reports_bucket="r",
        backups_bucket="b",
        alert_secret_id="s",
        alert_table="t",
        alert_dlq_url="q",
        failures_url="f",
        runbook_table="l",
        topics={sev: f"arn:{sev}" for sev in alertmanager_sns.SEVERITIES},
    )
    env = res.env("http://127.0.0.1:9")
    for name, (variable, bucket) in moved.items():
        assert env[variable] == f"s3://{bucket}/moved-{name.lower()}"


def test_missing_tools_fail_under_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.laptop.conftest import require_monitoring_tools

    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(
        pytest.fail.Exception, match=r"prometheus is not installed.*under CI=true this test"
    ):
        require_monitoring_tools()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install"):
        require_monitoring_tools()


def test_the_ports_chosen_for_prometheus_and_alertmanager_differ() -> None:
    from laptop.stack import free_ports

    ports = free_ports(20)
    assert len(set(ports)) == 20
