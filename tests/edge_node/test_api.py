"""The HTTP API of a node following a real local chain."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from edge_node.service import EdgeNode
from shared import metrics
from tests.support.node import TOKEN, Chain, caught_up, running, running_chain

pytestmark = [pytest.mark.chain, pytest.mark.asyncio(loop_scope="module")]
AUTH = {"Authorization": f"Bearer {TOKEN}"}


chain = pytest.fixture(running_chain, name="chain", scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(
    chain: Chain, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[EdgeNode, str]]:
    db = tmp_path_factory.mktemp("api") / "edge.db"
    node = EdgeNode(chain.config(f"sqlite:///{db}"))
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=40).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        assert node.api is not None
        yield node, f"http://127.0.0.1:{node.api.port}"


async def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as s, s.get(url, headers=headers or {}) as resp:
        return resp.status, await resp.text()


async def test_healthz_is_public_and_says_only_ok(api: tuple[EdgeNode, str]) -> None:
    _, base = api
    status, body = await _get(f"{base}/healthz")
    assert status == 200
    assert body == '{"status":"ok"}'


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer wrong-token-0123456789"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
    ],
)
@pytest.mark.parametrize("path", ["/health", "/metrics", "/prometheus", "/api/v1/pools"])
async def test_everything_else_needs_the_token(
    api: tuple[EdgeNode, str], headers: dict[str, str], path: str
) -> None:
    _, base = api
    status, body = await _get(base + path, headers)
    assert status == 401
    assert TOKEN not in body


async def test_health_detail(api: tuple[EdgeNode, str]) -> None:
    node, base = api
    status, body = await _get(f"{base}/health", AUTH)
    assert status == 200
    import json

    detail = json.loads(body)
    assert detail["status"] == "ok"
    assert detail["chain"]["last_processed_block"] == node.book.head.number  # type: ignore[union-attr]
    assert detail["endpoints"][0]["active"] is True
    assert detail["store"]["url"].startswith("sqlite:///")
    # The swaps of the fixture changed prices: their chain time is shown, with its age.
    market = detail["market"]
    assert market["last_price_update_time"] == node.book.counters.last_price_update_time
    assert market["last_price_update_time"] <= node.book.head.timestamp  # type: ignore[union-attr]
    assert 0 <= market["last_price_update_age_seconds"] < 120
    assert TOKEN not in body


async def test_prometheus_exports_every_metric_name(api: tuple[EdgeNode, str]) -> None:
    _, base = api
    status, body = await _get(f"{base}/prometheus", AUTH)
    assert status == 200
    samples = {line.split("{")[0].split(" ")[0] for line in body.splitlines() if line[:1] != "#"}
    for spec in metrics.ALL:
        if spec.labels and spec.name not in samples:
            # Labelled families only have samples once something was counted.
            assert f"# HELP {spec.name.removesuffix('_total')}" in body, spec.name
        else:
            assert spec.name in samples, spec.name
    assert "swap_events_processed_total 40.0" in body  # the fixture's 40 swaps, once each
    assert "health_check_status 1.0" in body


async def test_metrics_json(api: tuple[EdgeNode, str]) -> None:
    import json

    _, base = api
    status, body = await _get(f"{base}/metrics", AUTH)
    data = json.loads(body)
    assert status == 200
    assert data["swap_events_processed_total"] == 40
    assert data["uptime_seconds"] > 0


async def test_candles(api: tuple[EdgeNode, str]) -> None:
    import json

    node, base = api
    pair = node.pool_infos[0].name
    status, body = await _get(f"{base}/api/v1/candles/{pair}?interval=1m&limit=5", AUTH)
    assert status == 200
    data = json.loads(body)
    candles = data["candles"]
    assert 1 <= len(candles) <= 5
    assert [c["open_time"] for c in candles] == sorted(c["open_time"] for c in candles)
    head_ts = node.book.head.timestamp  # type: ignore[union-attr]
    for c in candles:
        assert c["low"] <= min(c["open"], c["close"]) <= max(c["open"], c["close"]) <= c["high"]
        # Closed exactly when chain time has reached the end of the bucket.
        assert c["closed"] == (head_ts >= c["open_time"] + 60)
    by_address = json.loads(
        (await _get(f"{base}/api/v1/candles/{node.pool_infos[0].address}?interval=1m", AUTH))[1]
    )
    assert by_address["candles"][-1] == candles[-1]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("interval=2m", 400),
        ("interval=1m&limit=0", 400),
        ("interval=1m&limit=1001", 400),
        ("interval=1m&limit=ten", 400),
    ],
)
async def test_candle_requests_are_validated(
    api: tuple[EdgeNode, str], query: str, status: int
) -> None:
    node, base = api
    got, body = await _get(f"{base}/api/v1/candles/{node.pool_infos[0].name}?{query}", AUTH)
    assert got == status
    assert "error" in body


async def test_unknown_pair(api: tuple[EdgeNode, str]) -> None:
    _, base = api
    status, _ = await _get(f"{base}/api/v1/candles/NOPE-USD?interval=1m", AUTH)
    assert status == 404


async def test_pools(api: tuple[EdgeNode, str]) -> None:
    import json

    node, base = api
    data = json.loads((await _get(f"{base}/api/v1/pools", AUTH))[1])
    assert {p["name"] for p in data["pools"]} == {p.name for p in node.pool_infos}
    assert all(p["price"] > 0 for p in data["pools"])
