"""JSON-RPC over HTTP (aiohttp): the transport of polling mode (``--no-websocket``) and probes.

Same interface as the websocket transport: results are decoded with the caller's decoder.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import msgspec
import orjson

from edge_node.chain.wire import ANY, MESSAGE, Envelope
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
from edge_node.rpc.ws import MAX_MESSAGE_BYTES, batch_results, decode_result
from edge_node.telemetry import Metrics

# The same bound as a websocket message (see ws.MAX_MESSAGE_BYTES for why).
MAX_RESPONSE_BYTES = MAX_MESSAGE_BYTES


class HttpRpc:
    def __init__(self, url: str, name: str, metrics: Metrics, request_timeout: float) -> None:
        self.url = url
        self.name = name
        self._metrics = metrics
        self._ids = itertools.count(1)
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=request_timeout))

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        await self._session.close()

    async def _post(self, payload: Any, n: int) -> Envelope | list[Envelope]:
        started = time.perf_counter()
        try:
            return await self._post_timed(payload, n)
        finally:
            self._metrics.rpc_latency(self.name, time.perf_counter() - started)

    async def _post_timed(self, payload: Any, n: int) -> Envelope | list[Envelope]:
        try:
            async with self._session.post(
                self.url,
                data=orjson.dumps(payload),
                headers={"Content-Type": "application/json"},
            ) as resp:
                if resp.status in (401, 403, 404):
                    raise EndpointMisconfigured(f"{self.name}: HTTP {resp.status}")
                if resp.status >= 400:
                    raise EndpointUnavailable(f"{self.name}: HTTP {resp.status}")
                body = await self._body(resp, n)
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            # Their text is the whole URL, API key included: name the endpoint and origin only.
            self._metrics.rpc_request(self.name, "error", n)
            raise EndpointMisconfigured(
                f"{self.name}: invalid HTTP URL {url_origin(self.url)}"
            ) from None
        except TimeoutError:
            self._metrics.rpc_request(self.name, "timeout", n)
            raise RequestTimedOut(f"{self.name}: request timed out") from None
        except (aiohttp.ClientError, OSError) as err:
            # Some carry the request URL (ClientResponseError's url=...): scrub, and chain nothing.
            self._metrics.rpc_request(self.name, "unavailable", n)
            text = scrub_url(f"{type(err).__name__}: {err}", self.url)
            raise EndpointUnavailable(f"{self.name}: {text}") from None
        try:
            return MESSAGE.decode(body)
        except (msgspec.ValidationError, msgspec.DecodeError) as err:
            self._metrics.rpc_request(self.name, "error", n)
            raise ResponseInvalid(f"{self.name}: answer is not JSON-RPC: {err}") from err

    async def _body(self, resp: aiohttp.ClientResponse, n: int) -> bytes:
        """The answer's body, refused (and counted) past MAX_RESPONSE_BYTES."""
        length = resp.content_length
        if length is not None and length <= MAX_RESPONSE_BYTES:
            return await resp.read()  # the common case: the node said how much, and it fits
        body = bytearray()
        if length is None:  # chunked: read up to the limit, and no further
            async for chunk in resp.content.iter_chunked(1 << 16):
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    break
        if length is not None or len(body) > MAX_RESPONSE_BYTES:
            self._metrics.rpc_message_refused(self.name, "http")
            self._metrics.rpc_request(self.name, "error", n)
            raise ResponseTooLarge(
                f"{self.name}: refused an answer over {MAX_RESPONSE_BYTES} bytes"
            )
        return bytes(body)

    async def request(
        self,
        method: str,
        params: Sequence[Any] = (),
        decoder: msgspec.json.Decoder[Any] = ANY,
    ) -> Any:
        rid = next(self._ids)
        answer = await self._post(
            {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}, 1
        )
        if isinstance(answer, list):
            self._metrics.rpc_request(self.name, "error")
            raise ResponseInvalid(f"{self.name}: {method} answered a batch")
        if answer.error is not None:
            self._metrics.rpc_request(self.name, "error")
            raise RpcError(answer.error.code, answer.error.message, method=method)
        self._metrics.rpc_request(self.name, "ok")
        return decode_result(answer.result, decoder, self.name, method)

    async def batch(
        self,
        calls: Sequence[tuple[str, Sequence[Any]]],
        decoder: msgspec.json.Decoder[Any] = ANY,
    ) -> list[Any]:
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": rid, "method": m, "params": list(p)}
            for rid, (m, p) in zip(ids, calls, strict=True)
        ]
        answers = await self._post(payload, len(calls))
        if not isinstance(answers, list):
            if answers.error is not None:
                raise RpcError(answers.error.code, answers.error.message, method="batch")
            raise ResponseInvalid(f"{self.name}: batch answer is not a list")
        return batch_results(answers, ids, calls, decoder, self._metrics, self.name)
