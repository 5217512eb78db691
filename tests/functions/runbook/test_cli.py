"""``edge-ops runbook`` and ``edge-ops incident-report`` as a subprocess against the moto server."""

from __future__ import annotations

import json

import boto3

from tests.functions.cli_runner import edge_ops
from tests.functions.runbook.stub_node import stub_node

BUCKET = "edge-cli-reports"


def test_incident_report_by_hand(cli_env: dict[str, str], moto_endpoint: str) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    done = edge_ops(
        "incident-report", "S2", "High error rate on /api/trading",
        "--to", f"s3://{BUCKET}/incidents", "--action", "restarted the node", "--json",
        env=cli_env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    key = out["report"].removeprefix(f"s3://{BUCKET}/")
    text = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert "# Incident Report: S2" in text
    assert "**Description**: High error rate on /api/trading" in text
    assert "restarted the node" in text and "## Timeline" in text
    bad = edge_ops("incident-report", "S9", "x", "--to", f"s3://{BUCKET}/i", env=cli_env)
    assert bad.returncode == 2 and "S1-S4" in bad.stderr and "Traceback" not in bad.stderr
    nowhere = edge_ops("incident-report", "S1", "x", env=cli_env)
    assert nowhere.returncode == 2 and "--to" in nowhere.stderr


def test_a_person_runs_pause_trading(
    cli_env: dict[str, str], moto_endpoint: str, sqlite_url: str
) -> None:
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    from shared.db.engine import create_engine, migrate

    engine = create_engine(sqlite_url)
    migrate(engine)
    engine.dispose()
    with stub_node() as node:
        env = {
            **cli_env,
            "EDGE_OPS_NODE_URL": node.url,
            "EDGE_OPS_API_TOKEN": "tok",
            "EDGE_OPS_INCIDENTS_TO": f"s3://{BUCKET}/incidents",
        }
        done = edge_ops(
            "runbook", "pause-trading", "--reason", "RPC provider degraded", "--db", sqlite_url,
            env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "pause-trading: ok: trading paused" in done.stdout
        assert "audit log: written" in done.stdout
        (body,) = node.posted("/admin/pause")
        assert body["actor"].startswith("cli:") and "RPC provider degraded" in body["reason"]
    unknown = edge_ops("runbook", "reboot-world", env=cli_env)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
