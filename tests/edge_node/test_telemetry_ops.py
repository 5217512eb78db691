"""What the alarms and dashboards read (issue 9 section 5): each series exists, starts where an
alert needs it, and moves when the thing it measures happens."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from edge_node.api import build_app
from edge_node.execution.journal import Journal
from edge_node.rpc.errors import RequestTimedOut
from edge_node.rpc.http import HttpRpc
from edge_node.service import EdgeNode
from edge_node.store.batches import AuditOp
from edge_node.store.usage import UsageSampler, sqlite_bytes
from edge_node.store.writer import StoreWriter
from edge_node.telemetry import Metrics, prometheus_text, registry_for
from shared import metrics as names
from shared.db import schema
from shared.db.engine import create_engine, migrate
from tests.edge_node.test_alerts import _node_config

TOKEN = "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def samples(m: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = prometheus_text(registry_for(m)).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for fam in text_string_to_metric_families(text)
        for s in fam.samples
    }


def value(m: Metrics, name: str, **labels: str) -> float:
    return samples(m)[(name, frozenset(labels.items()))]


class StubNode:
    """The smallest NodeView: health only, and a route that fails."""

    def health_ok(self) -> bool:
        return True

    def health_detail(self) -> dict[str, Any]:
        return {"status": "ok"}

    def metrics_json(self) -> dict[str, Any]:
        raise RuntimeError("a bug in a handler")

    def metrics_registry(self) -> Any:
        return None


async def _client(m: Metrics) -> TestClient[Any, Any]:
    client = TestClient(TestServer(build_app(StubNode(), TOKEN, m)))  # type: ignore[arg-type]
    await client.start_server()
    return client


async def test_api_requests_by_route_and_status_with_latency_and_401s() -> None:
    m = Metrics()
    client = await _client(m)
    try:
        # Before any request, each route's 500 series exists at 0 (a rate can see the first).
        assert value(m, "http_requests_total", route="/metrics", status="500") == 0
        assert value(m, "api_unauthorized_requests_total") == 0
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/health", headers=AUTH)).status == 200
        assert (await client.get("/health")).status == 401
        assert (await client.get("/health", headers={"Authorization": "Bearer nope"})).status == 401
        assert (await client.get("/metrics", headers=AUTH)).status == 500
        assert (await client.get("/no/such/path", headers=AUTH)).status == 404
        assert (await client.get("/api/v1/candles/WBNB-USDT")).status == 401
    finally:
        await client.close()
    assert value(m, "http_requests_total", route="/healthz", status="200") == 1
    assert value(m, "http_requests_total", route="/health", status="200") == 1
    assert value(m, "http_requests_total", route="/health", status="401") == 2
    assert value(m, "http_requests_total", route="/metrics", status="500") == 1
    assert value(m, "http_requests_total", route="unmatched", status="404") == 1
    # The route's template, never the path: one series per route whatever the pair.
    assert value(m, "http_requests_total", route="/api/v1/candles/{pair}", status="401") == 1
    assert value(m, "api_unauthorized_requests_total") == 3
    assert value(m, "http_request_duration_seconds_count", route="/health") == 3
    assert value(m, "http_request_duration_seconds_bucket", route="/health", le="+Inf") == 3
    assert value(m, "http_request_duration_seconds_sum", route="/health") > 0


async def _rpc_server(delay: float) -> TestServer:
    async def answer(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(delay)
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": "0x1"})

    app = web.Application()
    app.router.add_post("/", answer)
    server = TestServer(app)
    await server.start_server()
    return server


async def test_rpc_latency_per_endpoint_answers_and_timeouts() -> None:
    m = Metrics()
    fast, slow = await _rpc_server(0.0), await _rpc_server(2.0)
    # A short timeout only for the stub that must hang (it answers 10 times later, on this
    # same loop, so the timeout always comes first); the one that must answer gets 30 s.
    a = HttpRpc(str(fast.make_url("/")), "fast", m, 30.0)
    b = HttpRpc(str(slow.make_url("/")), "slow", m, 0.2)
    try:
        for _ in range(3):
            assert await a.request("eth_blockNumber") == "0x1"
        with pytest.raises(RequestTimedOut):
            await b.request("eth_blockNumber")
    finally:
        await a.close()
        await b.close()
        await fast.close()
        await slow.close()
    assert value(m, "rpc_request_duration_seconds_count", endpoint="fast") == 3
    assert value(m, "rpc_request_duration_seconds_count", endpoint="slow") == 1
    # The timed-out request took at least its timeout: not in the buckets below 0.1 s.
    assert value(m, "rpc_request_duration_seconds_bucket", endpoint="slow", le="0.1") == 0


def test_store_batches_and_journal_commits_are_timed(sqlite_url: str) -> None:
    m = Metrics()
    engine = create_engine(sqlite_url)
    migrate(engine)
    writer = StoreWriter(
        engine,
        1,
        "listener:test",
        [("1m", 60)],
        16,
        on_write_timed=lambda s: m.db_latency("store_batch", s),
    )
    writer.start()
    for i in range(3):
        writer.submit(AuditOp("test", "ping", str(i)))
        assert writer.flush(10)
    assert writer.stop(10)
    batches = value(m, "db_query_duration_seconds_count", operation="store_batch")
    assert 1 <= batches <= 3  # one transaction per batch, however the ops were grouped

    journal = Journal(engine, 1, "0x" + "11" * 20)
    journal.time_commits(lambda s: m.db_latency("journal_commit", s))
    try:
        with journal.engine.begin() as conn:
            conn.execute(select(schema.trades.c.id).limit(1))
        with journal.engine.begin() as conn:
            conn.execute(select(schema.trades.c.id).limit(1))
    finally:
        journal.close()
        engine.dispose()
    assert value(m, "db_query_duration_seconds_count", operation="journal_commit") == 2


def test_store_size_and_volume_space_on_sqlite(sqlite_url: str) -> None:
    m = Metrics()
    engine = create_engine(sqlite_url)
    migrate(engine)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    try:
        sampler = UsageSampler(engine, sqlite_url, m)
        first = sampler.sample()
        with engine.begin() as conn:
            conn.execute(
                schema.audit_log.insert(),
                [{"actor": "t", "action": "fill", "detail": "x" * 2000} for _ in range(500)],
            )
        second = sampler.sample()
        on_disk = sqlite_bytes(path)  # file + WAL, before closing folds the WAL in
    finally:
        engine.dispose()
    assert first.store_bytes is not None and second.store_bytes is not None
    assert second.store_bytes > first.store_bytes + 500_000  # it grew with what was written
    assert second.store_bytes == on_disk
    assert value(m, "store_size_bytes") == second.store_bytes
    free, size = value(m, "store_volume_free_bytes"), value(m, "store_volume_size_bytes")
    assert 0 < free <= size


@pytest.mark.postgres
def test_store_size_on_postgres(pg_url: str) -> None:
    m = Metrics()
    engine = create_engine(pg_url)
    migrate(engine)
    try:
        usage = UsageSampler(engine, pg_url, m).sample()
    finally:
        engine.dispose()
    assert usage.store_bytes is not None and usage.store_bytes > 1_000_000
    assert value(m, "store_size_bytes") == usage.store_bytes


def test_an_unmeasurable_store_is_unknown_not_stale(tmp_path: Path) -> None:
    m = Metrics()
    m.store_size_bytes = 123.0
    url = f"sqlite:///{tmp_path}/gone/edge.db"
    engine = create_engine(f"sqlite:///{tmp_path}/other.db")
    try:
        usage = UsageSampler(engine, url, m).sample()
    finally:
        engine.dispose()
    assert usage.store_bytes == 0  # no file yet: nothing stored
    assert usage.volume_free_bytes is None  # its directory does not exist
    assert value(m, "store_volume_free_bytes") != value(m, "store_volume_free_bytes")  # NaN


def test_process_memory_and_cpu_are_the_standard_series() -> None:
    m = Metrics()
    assert value(m, "process_resident_memory_bytes") > 10_000_000
    assert value(m, "process_cpu_seconds_total") > 0


def test_every_metric_is_exported_under_its_kind() -> None:
    m = Metrics()
    text = prometheus_text(registry_for(m)).decode()
    families = {f.name: f.type for f in text_string_to_metric_families(text)}
    for spec in names.ALL:
        family = spec.name.removesuffix("_total") if spec.kind == "counter" else spec.name
        assert families.get(family) == spec.kind, spec.name


async def test_labelled_counters_alerts_read_start_at_zero(sqlite_url: str) -> None:
    cfg = _node_config(sqlite_url)
    node = EdgeNode(cfg)
    try:
        assert node.desk is not None
        node.desk.install_metrics()
        got = samples(node.metrics)
    finally:
        node.engine.dispose()
    endpoint = cfg.endpoints[0].name
    for outcome in names.RPC_OUTCOMES:
        key = ("rpc_requests_total", frozenset({("endpoint", endpoint), ("outcome", outcome)}))
        assert got[key] == 0
    for status in names.TRADE_STATUSES["paper"]:
        assert got[("trades_total", frozenset({("mode", "paper"), ("status", status)}))] == 0
    for limit in ("max_daily_loss", "stale_market_data"):
        assert got[("risk_refusals_total", frozenset({("limit", limit)}))] == 0
    for kind in names.MARKET_DATA_ERROR_KINDS:
        assert got[("market_data_errors_total", frozenset({("kind", kind)}))] == 0
    assert got[("node_alerts_total", frozenset({("outcome", "dropped")}))] == 0


def test_a_counted_label_replaces_its_zero() -> None:
    m = Metrics()
    m.at_zero(names.RISK_REFUSALS_TOTAL, [("max_gas_price",)])
    m.risk_refusal("max_gas_price")
    text = prometheus_text(registry_for(m)).decode()
    assert text.count('risk_refusals_total{limit="max_gas_price"}') == 1
    assert 'risk_refusals_total{limit="max_gas_price"} 1.0' in text


def test_database_up_follows_the_store_writer(sqlite_url: str) -> None:
    cfg = _node_config(sqlite_url)
    node = EdgeNode(cfg.model_copy(update={"strategy": None, "execution": None}))
    try:
        assert value(node.metrics, "store_database_up") == 1
        node.writer.stats.retrying_since = 1.0  # the writer is retrying an absent database
        assert value(node.metrics, "store_database_up") == 0
        node.writer.stats.retrying_since = None
        node.writer.failed = RuntimeError("gave up")
        assert value(node.metrics, "store_database_up") == 0
    finally:
        node.engine.dispose()
