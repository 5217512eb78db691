"""The probe's calls: HTTP GET of the node's endpoints and ``eth_blockNumber`` of an RPC
endpoint, each bounded by a timeout, none retried (the next run, a minute later, is the retry).

Errors are described without the URL: RPC provider URLs carry API keys in their path or host,
and urllib3's exceptions quote the URL, so an error becomes a short fixed phrase ("timed out
after 5.0 s", "connection refused"). urllib3's own DEBUG lines (which print request paths) are
switched off whatever level a deployment sets.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from functions.common.errors import CredentialsRefused, OpsError
from functions.common.secrets import SecretRefused, with_fresh_secret
from functions.probe.checks import HttpReading, RpcReading

MAX_BODY = 1 << 20  # a /health or eth_blockNumber answer is a few KiB; anything bigger is wrong


class Http:
    """A connection pool whose every request has a connect and a read timeout."""

    def __init__(self, timeout_s: float, pool: urllib3.PoolManager | None = None) -> None:
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        self.timeout_s = timeout_s
        self.pool = pool or urllib3.PoolManager(
            num_pools=32,
            maxsize=4,
            retries=False,
            timeout=urllib3.Timeout(connect=min(timeout_s, 3.0), read=timeout_s),
        )

    def request(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None = None
    ) -> tuple[int, bytes, float]:
        """(status, body, elapsed ms); raises ``CallFailed`` with a URL-free reason."""
        start = time.perf_counter()
        try:
            resp = self.pool.request(
                method, url, headers=headers, body=body, preload_content=False, redirect=False
            )
            try:
                data = resp.read(MAX_BODY + 1)
            finally:
                resp.release_conn()
        except Exception as err:
            raise CallFailed(describe(err, self.timeout_s)) from None
        if len(data) > MAX_BODY:
            raise CallFailed(f"answer larger than {MAX_BODY} bytes")
        return resp.status, data, (time.perf_counter() - start) * 1000.0


class CallFailed(Exception):
    """No usable answer; the message is safe to log (no URL, no secret)."""


def describe(err: BaseException, timeout_s: float) -> str:
    if isinstance(err, NameResolutionError):
        return "the host name does not resolve"
    if isinstance(err, NewConnectionError):
        cause = err.__context__ or err.__cause__
        if isinstance(cause, ConnectionRefusedError) or "refused" in str(err).lower():
            return "connection refused"
        return "could not connect"
    # after NewConnectionError, which urllib3 derives from ConnectTimeoutError
    if isinstance(err, ConnectTimeoutError | ReadTimeoutError | TimeoutError | socket.timeout):
        return f"timed out after {timeout_s:g} s"
    if isinstance(err, SSLError):
        return "TLS handshake failed"
    if isinstance(err, ProtocolError):
        return "the connection was dropped"
    if isinstance(err, HTTPError | OSError):
        return f"connection error ({type(err).__name__})"
    return f"unexpected {type(err).__name__}"


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def get_json(http: Http, url: str, headers: dict[str, str] | None = None) -> HttpReading:
    try:
        status, data, ms = http.request(
            "GET", url, {"Accept": "application/json", **(headers or {})}
        )
    except CallFailed as err:
        return HttpReading(error=str(err))
    return HttpReading(status=status, body=_json(data), elapsed_ms=ms)


def healthz(http: Http, node_url: str) -> HttpReading:
    return get_json(http, f"{node_url}/healthz")


class _Unauthorized(SecretRefused):
    def __init__(self, reading: HttpReading) -> None:
        super().__init__("401")
        self.reading = reading


def health(http: Http, node_url: str, token: Callable[[bool], str]) -> HttpReading:
    """GET /health with the bearer token; on 401 the token is fetched anew and tried once more
    (it may have been rotated since it was cached)."""

    def call(value: str) -> HttpReading:
        reading = get_json(http, f"{node_url}/health", {"Authorization": f"Bearer {value}"})
        if reading.status == 401:
            raise _Unauthorized(reading)
        return reading

    try:
        return with_fresh_secret(token, call, what="the node's API token")
    except CredentialsRefused as err:
        cause = err.__cause__
        ms = cause.reading.elapsed_ms if isinstance(cause, _Unauthorized) else None
        return HttpReading(status=401, elapsed_ms=ms, token_refused=True)
    except OpsError as err:  # the secret itself could not be read
        return HttpReading(error=f"could not read the API token: {err}")


RPC_BODY = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}
).encode()


def rpc_head(http: Http, name: str, url: str) -> RpcReading:
    try:
        status, data, ms = http.request("POST", url, {"Content-Type": "application/json"}, RPC_BODY)
    except CallFailed as err:
        return RpcReading(name, error=str(err))
    if status != 200:
        return RpcReading(name, elapsed_ms=ms, error=f"HTTP {status}")
    answer = _json(data)
    if not isinstance(answer, dict):
        return RpcReading(name, elapsed_ms=ms, error="the answer is not a JSON-RPC object")
    if "error" in answer:
        code = answer["error"].get("code") if isinstance(answer["error"], dict) else None
        return RpcReading(name, elapsed_ms=ms, error=f"JSON-RPC error {code}")
    result = answer.get("result")
    try:
        if not isinstance(result, str) or not result.startswith("0x"):
            raise ValueError(result)
        head = int(result, 16)
    except ValueError:
        return RpcReading(name, elapsed_ms=ms, error="eth_blockNumber gave no block number")
    return RpcReading(name, head=head, elapsed_ms=ms)
