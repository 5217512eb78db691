"""A minimal synchronous JSON-RPC client for talking to a local anvil.

web3 is the right tool for contract work, but process control and the traffic generator's hot
loop only need a few raw calls; a keep-alive HTTP connection keeps those cheap and dependency-free.
"""

from __future__ import annotations

import http.client
import itertools
import json
import threading
from typing import Any
from urllib.parse import urlsplit


class RpcError(RuntimeError):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.message} (code {self.code})")


class JsonRpcClient:
    """Thread-safe (calls are serialised); reconnects once if the kept-alive socket went stale."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only plain http:// endpoints are supported, got {url!r}")
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._timeout = timeout
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        body = json.dumps(
            {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []}
        ).encode()
        with self._lock:
            try:
                raw = self._post(body)
            except (ConnectionError, http.client.HTTPException):
                # A server-side keep-alive timeout surfaces as a reset on the next request.
                self._close_locked()
                raw = self._post(body)
        reply = json.loads(raw)
        if reply.get("error") is not None:
            raise RpcError(method, reply["error"])
        return reply.get("result")

    def _post(self, body: bytes) -> bytes:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            self._conn.request(
                "POST", self._path, body=body, headers={"Content-Type": "application/json"}
            )
            response = self._conn.getresponse()
            data = response.read()
        except BaseException:
            self._close_locked()
            raise
        if response.status != 200:
            raise http.client.HTTPException(f"HTTP {response.status}: {data[:200]!r}")
        return data

    def _close_locked(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            self._close_locked()
