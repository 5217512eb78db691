"""JSON-RPC over one websocket connection: request/response matching and subscriptions.

One reader task owns the socket. Responses resolve the futures of their request ids;
subscription notifications go straight to their handler, synchronously, in the reader task:
no queue hop between a log arriving and the code that acts on it. A handler registered for a
subscription is installed the moment the node's reply arrives, before any later message is
read, so no notification can slip in between. A message that cannot be parsed is counted and
dropped; it never kills the reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)

from edge_node.rpc.errors import (
    EndpointMisconfigured,
    EndpointUnavailable,
    ResponseInvalid,
    RpcError,
)
from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

Handler = Callable[[Any], None]
MAX_MESSAGE_BYTES = 256 * 1024 * 1024  # large eth_getLogs answers are legitimate


class WsRpc:
    def __init__(
        self, conn: ClientConnection, name: str, metrics: Metrics, request_timeout: float
    ) -> None:
        self._ws = conn
        self.name = name
        self._metrics = metrics
        self._timeout = request_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._batches: dict[int, asyncio.Future[list[Any]]] = {}
        self._subscribing: dict[int, Handler] = {}
        self._subs: dict[str, Handler] = {}
        self._closed: asyncio.Future[BaseException | None] = (
            asyncio.get_running_loop().create_future()
        )
        self._reader = asyncio.create_task(self._read(), name=f"ws-reader-{name}")

    @classmethod
    async def open(
        cls, url: str, name: str, metrics: Metrics, *, open_timeout: float, request_timeout: float
    ) -> WsRpc:
        try:
            conn = await connect(
                url,
                compression=None,  # permessage-deflate halves throughput; loopback/LAN only
                open_timeout=open_timeout,
                max_size=MAX_MESSAGE_BYTES,
                max_queue=None,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=2,
            )
        except InvalidURI as err:
            raise EndpointMisconfigured(f"{name}: invalid websocket URL: {err}") from err
        except InvalidStatus as err:
            status = err.response.status_code
            if status in (401, 403, 404):
                raise EndpointMisconfigured(f"{name}: server refused: HTTP {status}") from err
            raise EndpointUnavailable(f"{name}: server refused: HTTP {status}") from err
        except (InvalidHandshake, OSError, TimeoutError) as err:
            raise EndpointUnavailable(f"{name}: cannot connect: {err!r}") from err
        return cls(conn, name, metrics, request_timeout)

    # --- requests -------------------------------------------------------------------------------

    async def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        payload = {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}
        try:
            await self._send(orjson.dumps(payload))
            result = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            self._metrics.rpc_request(self.name, "timeout")
            raise EndpointUnavailable(f"{self.name}: {method} timed out") from None
        except RpcError:
            self._metrics.rpc_request(self.name, "error")
            raise
        finally:
            self._pending.pop(rid, None)
        self._metrics.rpc_request(self.name, "ok")
        return result

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Send several calls in one JSON-RPC batch; results in call order.

        Any error object in the answer raises RpcError (the first one): callers use batches
        for all-or-nothing fetches.
        """
        if not calls:
            return []
        first = next(self._ids)
        ids = [first] + [next(self._ids) for _ in calls[1:]]
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._batches[first] = fut
        payload = [
            {"jsonrpc": "2.0", "id": rid, "method": m, "params": list(p)}
            for rid, (m, p) in zip(ids, calls, strict=True)
        ]
        try:
            await self._send(orjson.dumps(payload))
            answers = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            self._metrics.rpc_request(self.name, "timeout", len(calls))
            raise EndpointUnavailable(f"{self.name}: batch of {len(calls)} timed out") from None
        finally:
            self._batches.pop(first, None)
        return _batch_results(answers, ids, calls, self._metrics, self.name)

    async def subscribe(self, kind: str, params: Sequence[Any], handler: Handler) -> str:
        rid = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        self._subscribing[rid] = handler
        payload = {
            "jsonrpc": "2.0",
            "id": rid,
            "method": "eth_subscribe",
            "params": [kind, *params],
        }
        try:
            await self._send(orjson.dumps(payload))
            sub_id = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            raise EndpointUnavailable(f"{self.name}: eth_subscribe {kind} timed out") from None
        finally:
            self._pending.pop(rid, None)
            self._subscribing.pop(rid, None)
        if type(sub_id) is not str:
            raise ResponseInvalid(f"{self.name}: eth_subscribe returned {sub_id!r}")
        return sub_id

    async def _send(self, data: bytes) -> None:
        if self._closed.done():
            raise EndpointUnavailable(f"{self.name}: connection closed")
        try:
            await self._ws.send(data.decode())
        except ConnectionClosed as err:
            raise EndpointUnavailable(f"{self.name}: connection closed: {err}") from err

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.done()

    async def wait_closed(self) -> BaseException | None:
        return await asyncio.shield(self._closed)

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._reader
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._ws.close(), 2)
        self._finish(EndpointUnavailable(f"{self.name}: closed by us"))

    def abort(self) -> None:
        """Drop the connection at once (no closing handshake): a dead stream gets no courtesy."""
        self._ws.transport.abort()

    def _finish(self, err: BaseException) -> None:
        if not self._closed.done():
            self._closed.set_result(err)
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(EndpointUnavailable(f"{self.name}: connection lost: {err}"))
        for bfut in self._batches.values():
            if not bfut.done():
                bfut.set_exception(EndpointUnavailable(f"{self.name}: connection lost: {err}"))

    # --- the reader -----------------------------------------------------------------------------

    async def _read(self) -> None:
        reason: BaseException = EndpointUnavailable(f"{self.name}: connection closed")
        try:
            async for raw in self._ws:
                self._dispatch(raw)
        except ConnectionClosed as err:
            reason = EndpointUnavailable(f"{self.name}: connection closed: {err}")
        except asyncio.CancelledError:
            reason = EndpointUnavailable(f"{self.name}: closed by us")
            raise
        except Exception as err:  # the reader must never die silently
            log.exception("%s: websocket reader failed", self.name)
            reason = err
        finally:
            self._finish(reason)

    def _dispatch(self, raw: str | bytes) -> None:
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            self._metrics.market_data_error("rpc_message")
            log.warning("%s: dropped a message that is not JSON (%d bytes)", self.name, len(raw))
            return
        try:
            if type(msg) is dict:
                if msg.get("method") == "eth_subscription":
                    params = msg["params"]
                    handler = self._subs.get(params["subscription"])
                    if handler is not None:
                        handler(params["result"])
                    return
                rid = msg.get("id")
                if type(rid) is not int:
                    return
                fut = self._pending.get(rid)
                if fut is None or fut.done():
                    return  # a late answer to a request that timed out
                if "error" in msg and msg["error"] is not None:
                    e = msg["error"]
                    fut.set_exception(RpcError(int(e.get("code", 0)), str(e.get("message", ""))))
                    return
                result = msg["result"]
                handler = self._subscribing.pop(rid, None)
                if handler is not None and type(result) is str:
                    self._subs[result] = handler
                fut.set_result(result)
            elif type(msg) is list and msg:
                ids = [m["id"] for m in msg if type(m) is dict and type(m.get("id")) is int]
                bfut = self._batches.get(min(ids)) if ids else None
                if bfut is not None and not bfut.done():
                    bfut.set_result(msg)
            else:
                raise TypeError(f"unexpected JSON {type(msg).__name__}")
        except Exception as err:  # malformed message or handler failure: count, keep reading
            self._metrics.market_data_error("rpc_message")
            log.warning(
                "%s: dropped a malformed message: %s: %s", self.name, type(err).__name__, err
            )


def _batch_results(
    answers: list[Any],
    ids: list[int],
    calls: Sequence[tuple[str, Sequence[Any]]],
    metrics: Metrics,
    name: str,
) -> list[Any]:
    by_id: dict[int, Any] = {}
    for a in answers:
        if type(a) is dict and type(a.get("id")) is int:
            by_id[a["id"]] = a
    results = []
    for rid, (method, _) in zip(ids, calls, strict=True):
        a = by_id.get(rid)
        if a is None:
            metrics.rpc_request(name, "error", len(calls))
            raise ResponseInvalid(f"{name}: batch answer lacks id {rid} ({method})")
        if a.get("error") is not None:
            e = a["error"]
            metrics.rpc_request(name, "error", len(calls))
            raise RpcError(int(e.get("code", 0)), str(e.get("message", "")), method=method)
        if "result" not in a:
            metrics.rpc_request(name, "error", len(calls))
            raise ResponseInvalid(f"{name}: batch answer for {method} has no result")
        results.append(a["result"])
    metrics.rpc_request(name, "ok", len(calls))
    return results
