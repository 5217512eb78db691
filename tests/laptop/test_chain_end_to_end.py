"""Issue 10 section 4, end to end on this machine: the RPC endpoint is cut -> the deployed
head-lag alert (in compressed time) fires in the real Prometheus -> the real Alertmanager, with
the edge host's configuration, publishes it to the high topic in moto's SNS -> through the
deployed subscriptions the fan-out's handler posts to the Slack stand-in and the pause-trading
runbook function (filtered on the attributes, gated, once per alert) sets the SSM flag (moto)
-> the node stops trading within its poll interval -> an incident report is in the moto bucket;
then the endpoint comes back and the resolution is delivered, to the fan-out only."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
import urllib3

from infra import catalog
from laptop.chain import CONTROL_POLL_S
from laptop.stack import Stack
from tests.laptop.conftest import require_monitoring_tools
from tests.support import waiting

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.timeout(420)]

T = TypeVar("T")
PAUSE_ALERTS = ("RpcHeadLag", "MarketDataStale")  # the deployed rules naming pause-trading


def eventually(check: Callable[[], T | None], timeout: float, what: str, stack: Stack) -> T:
    """tests.support.waiting.eventually, failing with what the stack saw."""
    return waiting.eventually(
        check, timeout, what, every=0.25, diagnostics=lambda: diagnostics(stack)
    )


def diagnostics(stack: Stack) -> str:
    parts = []
    if stack.chat is not None:
        parts.append("chat posts: " + json.dumps([p.text for p in stack.chat.snapshot()]))
    if stack.receivers is not None:
        parts.append(f"receiver deliveries: {list(stack.receivers.deliveries)}")
    if stack.scheduler is not None:
        parts.append(f"scheduled runs: {list(stack.scheduler.runs)}")
        parts.append(f"scheduled runs parked: {list(stack.scheduler.parked)}")
    if stack.monitoring is not None:
        try:
            parts.append(f"prometheus alerts: {stack.monitoring.alerts()}")
        except Exception as err:
            parts.append(f"prometheus alerts unreadable: {err}")
        for name in ("prometheus.log", "alertmanager.log"):
            log = stack.monitoring.dir / name
            if log.exists():
                parts.append(f"{name}:\n{log.read_text(errors='replace')[-1500:]}")
    return "\n".join(parts)


def slack_posts(stack: Stack, needle: str) -> list[str]:
    """The Slack messages (whole JSON bodies: text and blocks) that mention ``needle``."""
    assert stack.chat is not None
    return [p.raw for p in stack.chat.snapshot() if p.channel == "slack" and needle in p.raw]


def runbook_deliveries(stack: Stack) -> list[tuple[str, str, bool]]:
    """What the pause-trading runbook's subscriptions delivered to it (alert, status)."""
    assert stack.receivers is not None
    return [
        (d.subscription, d.summary, d.ok)
        for d in stack.receivers.deliveries
        if d.subscription.startswith("runbook-pause-trading-")
    ]


def test_cut_rpc_pauses_trading_and_the_resolution_arrives(tmp_path: Path) -> None:
    require_monitoring_tools()
    with Stack(tmp_path / "stack") as stack:
        assert stack.chain and stack.monitoring and stack.chain.runner and stack.chat
        runner = stack.chain.runner

        # Steady state first: the node follows the chain, trades (paper), no alert that pauses
        # trading fires and no runbook ran. (Other deployed rules may fire on a laptop, in
        # compressed time: DiskSpaceWarning on a disk more than 70% full, SlowDatabaseQueries
        # under load; they reach the fan-out only, laptop/subscriptions.py LAPTOP_RUNBOOKS.)
        eventually(
            lambda: (
                (h := stack.chain.node.health()).block_age_s is not None  # type: ignore[union-attr]
                and h.block_age_s < 4
            ),
            60,
            "the node following the chain",
            stack,
        )
        assert runner.trading_state() == "running"
        assert stack.ssm_flag() == "false"
        assert not [
            a for a in stack.monitoring.alerts() if a["labels"]["alertname"] in PAUSE_ALERTS
        ]
        assert not slack_posts(stack, "RpcHeadLag")
        assert stack.receivers is not None
        assert not runbook_deliveries(stack)
        # the node is scraped as the edge host scrapes it: named, and expected on paper
        targets = urllib3.request("GET", f"{stack.monitoring.prometheus_url}/api/v1/targets")
        (target,) = json.loads(targets.data)["data"]["activeTargets"]
        assert target["labels"]["expected_mode"] == "paper"
        assert target["labels"]["instance"] == "laptop"

        stack.chain.cut_rpc()
        firing = eventually(
            lambda: [
                a
                for a in stack.monitoring.alerts()  # type: ignore[union-attr]
                if a["labels"]["alertname"] == "RpcHeadLag" and a["state"] == "firing"
            ],
            60,
            "RpcHeadLag firing in Prometheus",
            stack,
        )
        assert firing[0]["labels"]["severity"] == "high"

        # Alertmanager -> SNS (moto) -> fan-out handler -> Slack stand-in (and Telegram:
        # severity high).
        posted = eventually(
            lambda: slack_posts(stack, "RpcHeadLag"), 30, "the alert on Slack", stack
        )
        assert "pause-trading" in posted[0]  # the runbook named in the message
        assert any(p.channel == "telegram" for p in stack.chat.snapshot())

        # The runbook (functions/runbook) set the flag in moto to "pause"; the node paused
        # within its poll interval of that, and an incident report is in the bucket.
        eventually(lambda: stack.ssm_flag() == "pause", 30, "the SSM flag set to pause", stack)
        eventually(lambda: runner.trading_state() == "paused", 10, "the node paused", stack)
        keys = eventually(stack.incident_reports, 10, "an incident report in S3", stack)
        assert stack.resources is not None
        body = stack.s3().get_object(Bucket=stack.resources.reports_bucket, Key=keys[0])
        report = body["Body"].read().decode()
        assert "RpcHeadLag" in report and "pause" in report
        control = stack.chain.node.desk.control  # type: ignore[union-attr]
        assert control.actor == "remote flag"
        flag_set_at = stack.ssm_parameter()["LastModifiedDate"].timestamp()
        # the node's transition came within one poll (plus the bounded SSM read) of the write
        assert flag_set_at - 1.0 <= control.since <= flag_set_at + CONTROL_POLL_S + 2.5
        health = stack.node_health()
        assert health["trading"]["control"]["state"] == "paused"  # what the node reports

        # The endpoint comes back: the node catches up, the alert resolves, and the
        # resolution reaches Slack. Trading stays stopped until an operator resumes.
        stack.chain.restore_rpc()
        eventually(
            lambda: [t for t in slack_posts(stack, "RpcHeadLag") if "RESOLVED" in t.upper()],
            90,
            "the resolution on Slack",
            stack,
        )
        assert runner.trading_state() == "paused"
        # the runbook heard the firing alert through its subscription, never the resolution
        # (the deployed filter policy), and a resolution runs no runbook
        heard = runbook_deliveries(stack)
        assert ("runbook-pause-trading-on-high", "RpcHeadLag firing", True) in heard
        assert not [d for d in heard if "resolved" in d[1]]
        assert len(stack.incident_reports()) == len(keys)
        # every poller still running, nothing given up on
        assert stack.receivers.alive() == len(stack.receivers.subscribed)
        assert not stack.receivers.parked, list(stack.receivers.parked)

        # Meanwhile the scheduler ran the functions on their schedules (a compressed day from
        # 22:58): the prune at 23:00, the daily report at 00:15, the backup at 02:00.
        sched = stack.scheduler
        assert sched is not None
        ok = eventually(
            lambda: {"prune", "report-daily", "backup"} <= {r.job for r in sched.runs if r.ok},
            60,
            "the prune, daily report and backup run by the scheduler",
            stack,
        )
        assert ok
        s3 = stack.s3()
        reports = s3.list_objects_v2(
            Bucket=stack.resources.reports_bucket, Prefix=f"{catalog.REPORTS_PREFIX}/"
        )
        backups = s3.list_objects_v2(
            Bucket=stack.resources.backups_bucket, Prefix=f"{catalog.BACKUPS_PREFIX}/"
        )
        assert reports.get("KeyCount", 0) > 0 and backups.get("KeyCount", 0) > 0
