"""The probe function against a REAL node following a local chain (anvil), its API token in
Secrets Manager (moto): the node's /healthz and /health, anvil's own eth_blockNumber against the
node's block, the price's age from the swaps the node saw, and one endpoint that never answers."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import Any

import pytest
import pytest_asyncio

from edge_node.service import EdgeNode
from functions.common.aws import AwsClients
from tests.functions.events import FakeLambdaContext, scheduled_event
from tests.functions.probe.conftest import check_ok, emf_points
from tests.functions.probe.servers import silent_endpoint
from tests.support.node import TOKEN, Chain, caught_up, running, start_chain

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.asyncio(loop_scope="module")]


def _handler() -> ModuleType:
    """The handler module, imported when a test runs rather than when tests are collected:
    importing a handler routes the shared core loggers to its Logger
    (functions/common/observability.py), which the foundation's test of that routing, collected
    alongside, must not find changed."""
    import functions.probe.handler as module

    return module


@pytest.fixture(scope="module")
def chain() -> Iterator[Chain]:
    c = start_chain(block_time=0.5)
    try:
        yield c
    finally:
        c.anvil.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def node_url(chain: Chain, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    db = tmp_path_factory.mktemp("probe") / "edge.db"
    node = EdgeNode(chain.config(f"sqlite:///{db}"))
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=30).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        assert node.api is not None
        yield f"http://127.0.0.1:{node.api.port}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, aws: AwsClients, node_url: str) -> AwsClients:
    monkeypatch.setattr(_handler(), "_sources", None)
    monkeypatch.setenv("EDGE_OPS_NODE_URL", node_url)
    monkeypatch.setenv("EDGE_OPS_NODE_NAME", "anvil-node")
    monkeypatch.setenv("EDGE_OPS_NODE_TOKEN_SECRET_ID", "edge/api-token")
    monkeypatch.setenv("EDGE_OPS_RPC_ENDPOINTS_SECRET_ID", "edge/rpc")
    monkeypatch.setenv("EDGE_OPS_PROBE_CALL_TIMEOUT_S", "2")
    monkeypatch.setenv("EDGE_OPS_PROBE_DEADLINE_S", "8")
    return aws


async def _call() -> tuple[dict[str, Any], str]:
    out = io.StringIO()

    def call() -> dict[str, Any]:
        with contextlib.redirect_stdout(out):
            result: dict[str, Any] = _handler().handler(scheduled_event(), FakeLambdaContext())
            return result

    # In a thread: the node serves its API from this event loop meanwhile.
    return await asyncio.to_thread(call), out.getvalue()


async def test_a_real_node_its_chain_and_a_silent_endpoint(env: AwsClients, chain: Chain) -> None:
    env.secretsmanager.create_secret(Name="edge/api-token", SecretString=TOKEN)
    with silent_endpoint() as silent:
        env.secretsmanager.create_secret(
            Name="edge/rpc",
            SecretString=json.dumps({"anvil": chain.anvil.http_url, "silent": silent}),
        )
        out, printed = await _call()
    pts = emf_points(printed)
    checks = {(c["check"], c["target"]): (c["ok"], c["detail"]) for c in out["checks"]}
    for check in ("healthz", "health", "price"):
        assert check_ok(pts, check, Node="anvil-node") == 1.0, checks
    assert check_ok(pts, "rpc", Endpoint="anvil") == 1.0, checks
    assert check_ok(pts, "rpc", Endpoint="silent") == 0.0
    assert checks[("rpc", "silent")] == (False, "no answer (timed out after 2 s)")
    # anvil's head against the node's last processed block: the node keeps up with its chain
    lag = pts[("RpcHeadLagBlocks", frozenset({("Endpoint", "anvil")}))]
    assert 0 <= lag <= 10
    assert out["facts"]["node_last_processed_block"] > 0
    age = pts[("PriceUpdateAgeSeconds", frozenset({("Node", "anvil-node")}))]
    assert 0 <= age < 120  # the fixture's swaps changed prices moments ago
    assert ("HealthResponseTimeMs", frozenset({("Node", "anvil-node")})) in pts


async def test_a_real_node_refusing_a_wrong_token(env: AwsClients, chain: Chain) -> None:
    env.secretsmanager.create_secret(Name="edge/api-token", SecretString="wrong-" + TOKEN)
    env.secretsmanager.create_secret(
        Name="edge/rpc", SecretString=json.dumps({"anvil": chain.anvil.http_url})
    )
    out, printed = await _call()
    pts = emf_points(printed)
    assert check_ok(pts, "health", Node="anvil-node") == 0.0
    assert check_ok(pts, "healthz", Node="anvil-node") == 1.0
    assert check_ok(pts, "rpc", Endpoint="anvil") == 1.0  # judged on its own answer
    detail = next(c["detail"] for c in out["checks"] if c["check"] == "health")
    assert "refused the API token, even fetched anew" in detail
    assert TOKEN not in printed
