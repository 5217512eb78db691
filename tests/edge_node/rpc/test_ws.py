"""WsRpc's edges that need no node: bad URLs, redaction, and closing under cancellation."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest
from websockets.asyncio.client import ClientConnection

from edge_node.rpc import ws
from edge_node.rpc.errors import EndpointMisconfigured, EndpointUnavailable
from edge_node.rpc.ws import WsRpc
from edge_node.telemetry import Metrics
from tests.support.waiting import WITHIN_S

SECRET = "APIKEY123"


async def open_ws(url: str) -> WsRpc:
    return await WsRpc.open(url, "main", Metrics(), open_timeout=1, request_timeout=1)


@pytest.mark.parametrize(
    "url",
    [
        f"wss://bsc.example.io:99999/v1/{SECRET}",  # ValueError: Port out of range
        f"wss://bsc.example.io:abc/v1/{SECRET}",  # ValueError: not an integer
        f"wss://:443/v1/{SECRET}",  # InvalidURI: no host
        f"wss://user:{SECRET}@[::1/v1",  # ValueError: Invalid IPv6 URL
    ],
)
async def test_a_bad_url_is_misconfigured_and_never_quoted(url: str) -> None:
    with pytest.raises(EndpointMisconfigured) as err:
        await open_ws(url)
    text = str(err.value)
    assert text.startswith("main: invalid websocket URL")
    assert SECRET not in text
    assert "/v1" not in text
    # Nothing that carries the URL is chained either (tracebacks end in logs too).
    assert err.value.__cause__ is None
    assert err.value.__suppress_context__


async def test_the_bad_port_error_keeps_host_and_port() -> None:
    with pytest.raises(EndpointMisconfigured, match=r"wss://bsc\.example\.io:99999: Port out of"):
        await open_ws(f"wss://bsc.example.io:99999/v1/{SECRET}")


async def test_connect_errors_quoting_the_url_are_scrubbed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"wss://bsc.example.io:8546/v1/{SECRET}"

    async def refuse(uri: str, **_: Any) -> ClientConnection:
        raise OSError(f"cannot reach {uri}")

    monkeypatch.setattr(ws, "connect", refuse)
    with pytest.raises(EndpointUnavailable) as err:
        await open_ws(url)
    assert SECRET not in str(err.value)
    assert "wss://bsc.example.io:8546" in str(err.value)
    assert err.value.__cause__ is None


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class FakeConn:
    """A socket that never receives; its reader takes until ``release`` to stop when cancelled."""

    def __init__(self, slow_stop: bool) -> None:
        self.slow_stop = slow_stop
        self.release = asyncio.Event()
        self.closed = False
        self.transport = FakeTransport()

    def __aiter__(self) -> FakeConn:
        return self

    async def __anext__(self) -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self.slow_stop:
                await self.release.wait()
            raise
        raise StopAsyncIteration

    async def close(self) -> None:
        self.closed = True


def make(slow_stop: bool = False) -> tuple[WsRpc, FakeConn]:
    conn = FakeConn(slow_stop)
    return WsRpc(cast(ClientConnection, conn), "main", Metrics(), 1.0), conn


async def test_close_stops_the_reader_and_closes_the_socket() -> None:
    rpc, conn = make()
    await asyncio.sleep(0)
    await rpc.close()  # the reader's own cancellation does not escape
    assert rpc.closed
    assert conn.closed
    assert not conn.transport.aborted


async def test_cancelling_the_task_in_close_propagates() -> None:
    rpc, conn = make(slow_stop=True)
    await asyncio.sleep(0)
    closer = asyncio.create_task(rpc.close())
    await asyncio.sleep(0)  # closer now waits for the reader to stop
    closer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(closer, WITHIN_S)
    assert closer.cancelled()
    assert rpc.closed
    assert conn.transport.aborted


async def test_a_service_cancelled_while_closing_does_not_wait_forever() -> None:
    rpc, _ = make(slow_stop=True)
    await asyncio.sleep(0)

    async def service() -> None:
        await rpc.close()
        await asyncio.Event().wait()  # the rest of the service's life

    task = asyncio.create_task(service())
    await asyncio.sleep(0)
    task.cancel()
    try:
        done, _ = await asyncio.wait({task}, timeout=WITHIN_S)  # not forever
        assert task in done and task.cancelled()
    finally:
        task.cancel()  # so that a failure here does not leave the task behind
        await asyncio.wait({task}, timeout=WITHIN_S)


async def test_close_in_the_finally_of_a_cancelled_task_still_closes() -> None:
    rpc, conn = make()
    await asyncio.sleep(0)
    started = asyncio.Event()

    async def session() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            await rpc.close()

    task = asyncio.create_task(session())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert conn.closed  # a graceful close, though the task was being cancelled
    assert not conn.transport.aborted
    assert rpc.closed
