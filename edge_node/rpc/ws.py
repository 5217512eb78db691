"""JSON-RPC over one websocket connection: request/response matching and subscriptions.

One reader task owns the socket and hands every message to the Dispatcher (``dispatch.py``):
answers resolve the futures of their request ids, subscription notifications go straight to
their handler in the reader task. A handler registered for a subscription is installed the
moment the node's reply arrives, before any later message is read.

Results are typed by the caller: ``request(method, params, decoder)`` decodes the result with
the msgspec decoder given (a generic one by default), so a malformed answer is a
``ResponseInvalid`` at the point where its shape is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import msgspec
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
)
from websockets.frames import CloseCode

from edge_node.chain.wire import ANY, Envelope, RawLog
from edge_node.rpc.dispatch import Dispatcher, Handler, LogHandler
from edge_node.rpc.errors import (
    EndpointMisconfigured,
    EndpointUnavailable,
    RequestTimedOut,
    ResponseInvalid,
    ResponseTooLarge,
    RpcError,
    scrub_url,
    url_origin,
)
from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

# The largest answer we accept. What a node sends us is bounded by what we ask: eth_getLogs for
# our pools over at most chain.getlogs_max_range blocks, batches of at most
# chain.batch_max_requests headers (~2 KB each), single notifications (~1 KB). geth caps a batch
# answer at 25 MB and reads at most 32 MiB per websocket message itself. Larger is refused and
# counted (rpc_messages_refused_total); the follower then asks for smaller ranges.
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# Frames read ahead of the reader task before websockets stops reading the socket (TCP
# backpressure, nothing dropped): a few blocks' bursts of ~170 log notifications each.
MAX_QUEUE_FRAMES = 1024
T = TypeVar("T")


def decode_result(raw: msgspec.Raw, decoder: msgspec.json.Decoder[T], name: str, method: str) -> T:
    try:
        return decoder.decode(raw if len(raw) else b"null")
    except (msgspec.ValidationError, msgspec.DecodeError) as err:
        raise ResponseInvalid(f"{name}: {method} answered something malformed: {err}") from None


def batch_results(
    answers: list[Envelope],
    ids: list[int],
    calls: Sequence[tuple[str, Sequence[Any]]],
    decoder: msgspec.json.Decoder[T],
    metrics: Metrics,
    name: str,
) -> list[T]:
    by_id = {a.id: a for a in answers if isinstance(a.id, int)}
    results: list[T] = []
    for rid, (method, _) in zip(ids, calls, strict=True):
        a = by_id.get(rid)
        if a is None:
            metrics.rpc_request(name, "error", len(calls))
            raise ResponseInvalid(f"{name}: batch answer lacks id {rid} ({method})")
        if a.error is not None:
            metrics.rpc_request(name, "error", len(calls))
            raise RpcError(a.error.code, a.error.message, method=method)
        results.append(decode_result(a.result, decoder, name, method))
    metrics.rpc_request(name, "ok", len(calls))
    return results


class WsRpc:
    def __init__(
        self, conn: ClientConnection, name: str, metrics: Metrics, request_timeout: float
    ) -> None:
        self._ws = conn
        self.name = name
        self._metrics = metrics
        self._timeout = request_timeout
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Envelope]] = {}
        self._batches: dict[int, asyncio.Future[list[Envelope]]] = {}
        self._subscribing: dict[int, Callable[[str], None]] = {}
        self.dispatcher = Dispatcher(name, metrics, self._answer, self._batch_answer)
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
                max_queue=MAX_QUEUE_FRAMES,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=2,
            )
        except InvalidURI as err:
            # The exception carries the whole URL (API key included): keep only its reason.
            raise EndpointMisconfigured(
                f"{name}: invalid websocket URL {url_origin(url)}: {scrub_url(err.msg, url)}"
            ) from None
        except InvalidStatus as err:
            status = err.response.status_code
            if status in (401, 403, 404):
                raise EndpointMisconfigured(f"{name}: server refused: HTTP {status}") from err
            raise EndpointUnavailable(f"{name}: server refused: HTTP {status}") from err
        except (InvalidHandshake, OSError, TimeoutError) as err:
            raise EndpointUnavailable(
                f"{name}: cannot connect: {scrub_url(repr(err), url)}"
            ) from None
        except ValueError as err:
            # What urllib and the socket layer raise on a URL they cannot use ("Port out of
            # range 0-65535"): retrying will not fix it.
            raise EndpointMisconfigured(
                f"{name}: invalid websocket URL {url_origin(url)}: {scrub_url(str(err), url)}"
            ) from None
        return cls(conn, name, metrics, request_timeout)

    # --- requests -------------------------------------------------------------------------------

    async def _call(
        self, method: str, params: Sequence[Any], on_result: Callable[[str], None] | None = None
    ) -> Envelope:
        rid = next(self._ids)
        fut: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        if on_result is not None:
            self._subscribing[rid] = on_result
        payload = {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}
        started = time.perf_counter()
        try:
            await self._send(orjson.dumps(payload))
            answer = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            self._metrics.rpc_request(self.name, "timeout")
            raise RequestTimedOut(f"{self.name}: {method} timed out") from None
        finally:
            self._metrics.rpc_latency(self.name, time.perf_counter() - started)
            self._pending.pop(rid, None)
            self._subscribing.pop(rid, None)
        if answer.error is not None:
            self._metrics.rpc_request(self.name, "error")
            raise RpcError(answer.error.code, answer.error.message, method=method)
        self._metrics.rpc_request(self.name, "ok")
        return answer

    async def request(
        self,
        method: str,
        params: Sequence[Any] = (),
        decoder: msgspec.json.Decoder[Any] = ANY,
    ) -> Any:
        answer = await self._call(method, params)
        return decode_result(answer.result, decoder, self.name, method)

    async def batch(
        self,
        calls: Sequence[tuple[str, Sequence[Any]]],
        decoder: msgspec.json.Decoder[Any] = ANY,
    ) -> list[Any]:
        """Several calls in one JSON-RPC batch; results in call order, all decoded alike.

        Any error object in the answer raises RpcError (the first one): callers use batches
        for all-or-nothing fetches.
        """
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        fut: asyncio.Future[list[Envelope]] = asyncio.get_running_loop().create_future()
        self._batches[ids[0]] = fut
        payload = [
            {"jsonrpc": "2.0", "id": rid, "method": m, "params": list(p)}
            for rid, (m, p) in zip(ids, calls, strict=True)
        ]
        started = time.perf_counter()
        try:
            await self._send(orjson.dumps(payload))
            answers = await asyncio.wait_for(fut, self._timeout)
        except TimeoutError:
            self._metrics.rpc_request(self.name, "timeout", len(calls))
            raise RequestTimedOut(f"{self.name}: batch of {len(calls)} timed out") from None
        finally:
            self._metrics.rpc_latency(self.name, time.perf_counter() - started)
            self._batches.pop(ids[0], None)
        return batch_results(answers, ids, calls, decoder, self._metrics, self.name)

    async def subscribe(self, kind: str, params: Sequence[Any], handler: Handler) -> str:
        """Subscribe; ``handler`` gets each notification's result as raw JSON."""

        def install(sub_id: str) -> None:
            self.dispatcher.subs[sub_id] = handler

        return await self._subscribe(kind, params, install)

    async def subscribe_logs(self, params: Sequence[Any], handler: LogHandler) -> str:
        """A logs subscription whose handler gets typed logs through the fast path."""

        def install(sub_id: str) -> None:
            self.dispatcher.log_subs[sub_id] = handler

        return await self._subscribe("logs", params, install)

    async def _subscribe(
        self, kind: str, params: Sequence[Any], install: Callable[[str], None]
    ) -> str:
        try:
            answer = await self._call("eth_subscribe", [kind, *params], on_result=install)
        except EndpointUnavailable as err:
            raise EndpointUnavailable(f"{self.name}: eth_subscribe {kind}: {err}") from None
        sub_id = decode_result(answer.result, ANY, self.name, "eth_subscribe")
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

    # --- answers (called by the Dispatcher, in the reader task) ---------------------------------

    def _answer(self, msg: Envelope) -> None:
        rid = msg.id
        fut = self._pending.get(rid) if isinstance(rid, int) else None
        if fut is None or fut.done():
            return  # a late answer to a request that timed out
        install = self._subscribing.pop(rid, None) if isinstance(rid, int) else None
        if install is not None and msg.error is None and len(msg.result):
            # Installed before the next message is read: no notification can slip past it.
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                sub_id = ANY.decode(msg.result)
                if type(sub_id) is str:
                    install(sub_id)
        fut.set_result(msg)

    def _batch_answer(self, msgs: list[Envelope]) -> None:
        ids = [m.id for m in msgs if isinstance(m.id, int)]
        bfut = self._batches.get(min(ids)) if ids else None
        if bfut is not None and not bfut.done():
            bfut.set_result(msgs)

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed.done()

    async def wait_closed(self) -> BaseException | None:
        return await asyncio.shield(self._closed)

    async def close(self) -> None:
        """Stop the reader and close the socket.

        A cancellation of the calling task propagates (the socket is aborted first); the
        reader's own end, cancelled by us, does not.
        """
        self._reader.cancel()
        try:
            if self._reader is not asyncio.current_task():
                # Unlike ``await self._reader``, asyncio.wait raises CancelledError only when
                # this task is cancelled, not because the reader ended cancelled as asked.
                await asyncio.wait({self._reader})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 2)
        except asyncio.CancelledError:
            self._ws.transport.abort()  # no time left for a closing handshake
            raise
        finally:
            self._finish(EndpointUnavailable(f"{self.name}: closed by us"))

    def _finish(self, err: BaseException) -> None:
        if not self._closed.done():
            self._closed.set_result(err)

        def lost() -> EndpointUnavailable:
            # A refused answer may be one of ours: its caller can ask for less (a new one per
            # future: an exception object must not be shared between awaiting tasks).
            if isinstance(err, ResponseTooLarge):
                return ResponseTooLarge(str(err))
            return EndpointUnavailable(f"{self.name}: connection lost: {err}")

        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(lost())
        for bfut in self._batches.values():
            if not bfut.done():
                bfut.set_exception(lost())

    async def _read(self) -> None:
        reason: BaseException = EndpointUnavailable(f"{self.name}: connection closed")
        try:
            dispatch = self.dispatcher.dispatch
            async for raw in self._ws:
                dispatch(raw)
        except ConnectionClosed as err:
            if err.sent is not None and err.sent.code == CloseCode.MESSAGE_TOO_BIG:
                self._metrics.rpc_message_refused(self.name, "websocket")
                reason = ResponseTooLarge(
                    f"{self.name}: refused a message over {MAX_MESSAGE_BYTES} bytes "
                    "(connection closed)"
                )
            else:
                reason = EndpointUnavailable(f"{self.name}: connection closed: {err}")
        except asyncio.CancelledError:
            reason = EndpointUnavailable(f"{self.name}: closed by us")
            raise
        except Exception as err:  # the reader must never die silently
            log.exception("%s: websocket reader failed", self.name)
            reason = err
        finally:
            self._finish(reason)


__all__ = ["RawLog", "WsRpc", "batch_results", "decode_result"]
