"""``edge-ops probe`` as an operator runs it: a subprocess, its secrets in the moto server,
against stand-in servers for the node and the endpoints."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import boto3
import pytest

from tests.functions.cli_runner import edge_ops
from tests.functions.conftest import REGION
from tests.functions.probe.servers import (
    TOKEN,
    NodeState,
    RpcState,
    fake_node,
    fake_rpc,
    health_body,
    silent_endpoint,
)


@pytest.fixture
def node() -> Iterator[tuple[NodeState, str]]:
    state = NodeState()
    with fake_node(state) as url:
        yield state, url


@pytest.fixture
def env(cli_env: dict[str, str], moto_endpoint: str, node: tuple[NodeState, str]) -> dict[str, str]:
    sm = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=REGION)
    sm.create_secret(Name="edge/api-token", SecretString=json.dumps({"token": TOKEN}))
    return {
        **cli_env,
        "EDGE_OPS_NODE_URL": node[1],
        "EDGE_OPS_NODE_TOKEN_SECRET_ID": "edge/api-token",
        "EDGE_OPS_PROBE_CALL_TIMEOUT_S": "1",
        "EDGE_OPS_PROBE_DEADLINE_S": "5",
    }


def test_all_well_exits_0(env: dict[str, str]) -> None:
    with fake_rpc(RpcState(head=1001)) as a:
        env["EDGE_OPS_RPC_ENDPOINTS"] = json.dumps({"a": a})
        done = edge_ops("probe", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert [(c["check"], c["target"], c["ok"]) for c in report["checks"]] == [
        ("healthz", "edge", True),
        ("health", "edge", True),
        ("price", "edge", True),
        ("rpc", "a", True),
    ]


def test_failed_checks_exit_1_and_say_what_failed(
    env: dict[str, str], node: tuple[NodeState, str]
) -> None:
    state, _ = node
    state.health = health_body(block=1000, price_time=time.time() - 3600)
    with fake_rpc(RpcState(head=1000)) as a, silent_endpoint() as silent:
        env["EDGE_OPS_RPC_ENDPOINTS"] = json.dumps({"a": a, "silent": silent})
        done = edge_ops("probe", env=env)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert any(
        line.startswith("FAIL  rpc      silent") and "timed out after 1 s" in line for line in lines
    )
    assert any(line.startswith("FAIL  price") and "stale" in line for line in lines)
    assert any(line.startswith("ok    rpc      a") for line in lines)
    assert lines[-1].startswith("2 check(s) failed in ")
    assert "API-KEY" not in done.stdout + done.stderr


def test_another_node_url_and_bad_settings(env: dict[str, str]) -> None:
    done = edge_ops("probe", "--node-url", "not a url", env=env)
    assert done.returncode == 2
    assert done.stderr.strip() == "edge-ops: error: --node-url 'not a url' is not an http(s) URL"
    env.pop("EDGE_OPS_NODE_URL")
    done = edge_ops("probe", "--json", env=env)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["error"]["message"].startswith("no node to probe")
