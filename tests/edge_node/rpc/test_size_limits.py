"""Answers larger than a node really sends are refused and counted, on both transports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

from edge_node.rpc import http as http_module
from edge_node.rpc import ws as ws_module
from edge_node.rpc.errors import ResponseTooLarge
from edge_node.rpc.http import HttpRpc
from edge_node.rpc.ws import WsRpc
from edge_node.telemetry import Metrics, as_json, registry_for

LIMIT = 4096


def answer(rid: int, size: int) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": rid, "result": "0x" + "ab" * (size // 2)})


def refused(metrics: Metrics) -> list[dict[str, object]]:
    out: list[dict[str, object]] = as_json(registry_for(metrics)).get(
        "rpc_messages_refused_total", []
    )
    return out


def test_the_limits_are_what_a_node_sends_not_hundreds_of_mib() -> None:
    assert ws_module.MAX_MESSAGE_BYTES <= 32 * 2**20
    assert http_module.MAX_RESPONSE_BYTES <= 32 * 2**20
    assert ws_module.MAX_QUEUE_FRAMES is not None


async def test_a_websocket_message_over_the_limit_is_refused_and_counted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ws_module, "MAX_MESSAGE_BYTES", LIMIT)

    async def handler(conn: ServerConnection) -> None:
        async for raw in conn:
            req = json.loads(raw)
            size = LIMIT * 2 if req["method"] == "big" else 10
            await conn.send(answer(req["id"], size))

    async with serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        metrics = Metrics()
        rpc = await WsRpc.open(
            f"ws://127.0.0.1:{port}", "n", metrics, open_timeout=30, request_timeout=30
        )
        try:
            assert await rpc.request("small") == "0x" + "ab" * 5
            with pytest.raises(ResponseTooLarge, match=f"over {LIMIT} bytes"):
                await rpc.request("big")
            assert rpc.closed
        finally:
            await rpc.close()
    assert refused(metrics) == [
        {"labels": {"endpoint": "n", "transport": "websocket"}, "value": 1.0}
    ]


@pytest.fixture
async def big_http() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.StreamResponse:
        req = await request.json()
        body = answer(req["id"], LIMIT * 2 if req["method"] != "small" else 10).encode()
        if req["method"] == "chunked":  # no Content-Length: the size is known only by reading
            resp = web.StreamResponse()
            resp.enable_chunked_encoding()
            await resp.prepare(request)
            for i in range(0, len(body), 1000):
                await resp.write(body[i : i + 1000])
            await resp.write_eof()
            return resp
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/"
    await runner.cleanup()


async def test_an_http_body_over_the_limit_is_refused_and_counted(
    big_http: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_module, "MAX_RESPONSE_BYTES", LIMIT)
    metrics = Metrics()
    rpc = HttpRpc(big_http, "h", metrics, 30.0)
    try:
        assert await rpc.request("small") == "0x" + "ab" * 5
        for method in ("sized", "chunked"):
            with pytest.raises(ResponseTooLarge, match=f"over {LIMIT} bytes"):
                await rpc.request(method)
        assert await rpc.request("small") == "0x" + "ab" * 5  # the client carries on
    finally:
        await rpc.close()
    assert refused(metrics) == [{"labels": {"endpoint": "h", "transport": "http"}, "value": 2.0}]
