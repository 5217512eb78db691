"""The host's Alertmanager configuration, run: the real Alertmanager (Debian's) publishes to SNS
(a moto server), and what arrives is read by the fan-out and the runbooks as the alert it was.

Each severity topic has a queue subscribed (standing in for the fan-out's subscription, which
sees every message), and the high topic a queue with the pause-trading runbook's filter
policy (infra/functions.py subscribes the runbook with it). Only the timing is shortened.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from functions.fanout.alert import Severity, State
from functions.fanout.sources import parse_event
from functions.runbook.trigger import parse_trigger
from infra.monitoring import alertmanager_sns
from laptop.monitoring import ALERTMANAGER_NAMES, Daemon, find_tool, wait_ready
from tests.infra.monitoring.tools import require
from tests.support.process import free_port

pytestmark = pytest.mark.tools
REGION = "us-east-1"


@pytest.fixture
def aws(moto_server: str) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "region_name": REGION,
        "endpoint_url": moto_server,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    sns, sqs = boto3.client("sns", **kw), boto3.client("sqs", **kw)
    stamp = str(time.time_ns())
    topics, queues = {}, {}

    def queue(name: str, topic: str, policy: dict[str, list[str]] | None = None) -> None:
        url = sqs.create_queue(QueueName=f"am-{stamp}-{name}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        attrs = {"FilterPolicy": json.dumps(policy)} if policy else {}
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attrs)
        queues[name] = url

    for sev in alertmanager_sns.SEVERITIES:
        topics[sev] = sns.create_topic(Name=f"am-{stamp}-{sev}")["TopicArn"]
        queue(sev, topics[sev])
    queue(
        "runbook",
        topics["high"],
        alertmanager_sns.runbook_filter_policy("pause-trading"),
    )
    return {"endpoint": moto_server, "topics": topics, "queues": queues, "sqs": sqs}


@pytest.fixture
def alertmanager(aws: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    require("amtool")
    binary = find_tool(ALERTMANAGER_NAMES)
    cfg = alertmanager_sns.config(aws["topics"], REGION, str(tmp_path / "edge-sns.tmpl"))
    for r in cfg["receivers"]:
        for sns in r["sns_configs"]:
            sns["api_url"] = aws["endpoint"]
            sns["sigv4"].update(access_key="testing", secret_key="testing")
    for route in [cfg["route"], *cfg["route"]["routes"]]:
        route.update(group_wait="0s", group_interval="1s", repeat_interval="1h")
    (tmp_path / "edge-sns.tmpl").write_text(alertmanager_sns.TEMPLATE)
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(cfg))
    port = free_port()
    daemon = Daemon(
        "alertmanager",
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        tmp_path / "alertmanager.log",
    )
    daemon.start()
    try:
        wait_ready(daemon, f"http://127.0.0.1:{port}/-/ready")
        yield f"http://127.0.0.1:{port}"
    finally:
        daemon.stop()


def _post(url: str, alerts: list[dict[str, Any]]) -> None:
    req = urllib.request.Request(  # noqa: S310 - a loopback URL of our own
        f"{url}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        assert resp.status == 200


def _receive(sqs: Any, url: str, want: int, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The SNS envelopes delivered to ``url``, as Lambda records."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        resp = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in resp.get("Messages", []):
            got.append({"EventSource": "aws:sns", "Sns": json.loads(m["Body"])})
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def _alert(name: str, severity: str, runbook: str | None, **extra: Any) -> dict[str, Any]:
    annotations = {
        "summary": f"{name} summary",
        "description": "first line\nsecond line",
        "value": "7",
        "threshold": "> 5",
    }
    if runbook:
        annotations["runbook"] = runbook
    return {
        "labels": {"alertname": name, "severity": severity, "job": "edge-node", "instance": "n1"},
        "annotations": annotations,
        **extra,
    }


def test_alerts_reach_their_topics_and_read_back_as_sent(
    alertmanager: str, aws: dict[str, Any]
) -> None:
    sqs, queues = aws["sqs"], aws["queues"]
    starts = datetime.now(UTC).replace(microsecond=0)
    lag = _alert("RpcHeadLag", "high", "pause-trading", startsAt=starts.isoformat())
    down = _alert("ServiceDown", "critical", None, startsAt=starts.isoformat())
    _post(alertmanager, [lag, down])

    (high,) = _receive(sqs, queues["high"], 1)
    (critical,) = _receive(sqs, queues["critical"], 1)
    (runbook,) = _receive(sqs, queues["runbook"], 1)

    (alert,) = parse_event({"Records": [high]})
    assert (alert.source, alert.name, alert.state) == ("alertmanager", "RpcHeadLag", State.FIRING)
    assert alert.severity is Severity.HIGH
    assert (alert.resource, alert.runbook) == ("n1", "pause-trading")
    assert (alert.summary, alert.value, alert.threshold) == ("RpcHeadLag summary", "7", "> 5")
    assert alert.description == "first line\nsecond line"
    assert alert.started_at == starts and alert.changed_at == starts
    assert len(alert.fingerprint) == 16  # Alertmanager's label hash
    (page,) = parse_event({"Records": [critical]})
    # no runbook annotation here: the fan-out's catalogue names ServiceDown's
    assert (page.name, page.severity, page.runbook) == (
        "ServiceDown",
        Severity.CRITICAL,
        "node-down",
    )

    (trigger,) = parse_trigger({"Records": [runbook]})
    assert (trigger.alarm, trigger.state, trigger.runbook) == (
        "RpcHeadLag",
        "firing",
        "pause-trading",
    )
    assert trigger.fingerprint == alert.fingerprint
    assert trigger.changed_at == high["Sns"]["MessageAttributes"]["starts_at"]["Value"]

    # resolved: the fan-out hears it; the runbook's filter keeps it out
    ends = datetime.now(UTC).replace(microsecond=0)
    _post(alertmanager, [{**lag, "endsAt": ends.isoformat()}])
    (resolved_record,) = _receive(sqs, queues["high"], 1)
    (resolved,) = parse_event({"Records": [resolved_record]})
    assert (resolved.state, resolved.fingerprint) == (State.RESOLVED, alert.fingerprint)
    assert resolved.changed_at == ends
    assert _receive(sqs, queues["runbook"], 1, timeout=5) == []
    # the other topics heard only their own alert
    assert _receive(sqs, queues["medium"], 1, timeout=2) == []
    assert _receive(sqs, queues["low"], 1, timeout=2) == []
