"""JSON-RPC over HTTP (aiohttp): the transport of polling mode (``--no-websocket``) and probes."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from edge_node.rpc.errors import (
    EndpointMisconfigured,
    EndpointUnavailable,
    ResponseInvalid,
    RpcError,
)
from edge_node.rpc.ws import _batch_results
from edge_node.telemetry import Metrics


class HttpRpc:
    def __init__(self, url: str, name: str, metrics: Metrics, request_timeout: float) -> None:
        self.url = url
        self.name = name
        self._metrics = metrics
        self._ids = itertools.count(1)
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=request_timeout),
            json_serialize=lambda o: orjson.dumps(o).decode(),
        )

    @property
    def closed(self) -> bool:
        return self._session.closed

    async def close(self) -> None:
        await self._session.close()

    async def _post(self, payload: Any) -> Any:
        try:
            async with self._session.post(self.url, json=payload) as resp:
                if resp.status in (401, 403, 404):
                    raise EndpointMisconfigured(f"{self.name}: HTTP {resp.status}")
                if resp.status >= 400:
                    raise EndpointUnavailable(f"{self.name}: HTTP {resp.status}")
                body = await resp.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as err:
            raise EndpointUnavailable(f"{self.name}: {type(err).__name__}: {err}") from err
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as err:
            raise ResponseInvalid(f"{self.name}: answer is not JSON") from err

    async def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        rid = next(self._ids)
        try:
            answer = await self._post(
                {"jsonrpc": "2.0", "id": rid, "method": method, "params": list(params)}
            )
        except EndpointUnavailable:
            self._metrics.rpc_request(self.name, "unavailable")
            raise
        if type(answer) is not dict:
            self._metrics.rpc_request(self.name, "error")
            raise ResponseInvalid(f"{self.name}: {method} answer is not an object")
        if answer.get("error") is not None:
            self._metrics.rpc_request(self.name, "error")
            e = answer["error"]
            raise RpcError(int(e.get("code", 0)), str(e.get("message", "")), method=method)
        self._metrics.rpc_request(self.name, "ok")
        return answer.get("result")

    async def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        if not calls:
            return []
        ids = [next(self._ids) for _ in calls]
        payload = [
            {"jsonrpc": "2.0", "id": rid, "method": m, "params": list(p)}
            for rid, (m, p) in zip(ids, calls, strict=True)
        ]
        try:
            answers = await self._post(payload)
        except EndpointUnavailable:
            self._metrics.rpc_request(self.name, "unavailable", len(calls))
            raise
        if type(answers) is not list:
            if type(answers) is dict and answers.get("error") is not None:
                e = answers["error"]
                raise RpcError(int(e.get("code", 0)), str(e.get("message", "")), method="batch")
            raise ResponseInvalid(f"{self.name}: batch answer is not a list")
        return _batch_results(answers, ids, calls, self._metrics, self.name)
