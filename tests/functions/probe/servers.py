"""Local servers standing in for what the probe reaches, where a fault is needed: a node whose
answers the test sets, JSON-RPC endpoints with a given head and delay, and a TCP server that
accepts connections and never says a word."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOKEN = "probe-test-token-0123456789abcdef"


def health_body(
    *,
    block: int = 1000,
    block_age_s: float = 1.0,
    price_time: float | None = None,
    uptime_s: float = 3600.0,
    status: str = "ok",
    reasons: list[str] | None = None,
    trading: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A /health answer shaped as the node's (edge_node/node_views.py); ``trading`` as
    ``TradingDesk.status`` (edge_node/trading_views.py) (default: on paper as required, no loss)."""
    return {
        "trading": trading if trading is not None else trading_section(),
        "status": status,
        "reasons": reasons or [],
        "uptime_seconds": uptime_s,
        "chain": {"last_processed_block": block, "last_block_age_seconds": block_age_s},
        "market": {
            "last_price_update_time": price_time,
            "last_price_update_age_seconds": None,
        },
    }


def trading_section(
    *,
    mode: str = "paper",
    required_mode: str = "paper",
    live_trades: int = 0,
    daily_loss: int = 0,
    max_daily_loss: int = 10**18,
) -> dict[str, Any]:
    return {
        "mode": mode,
        "required_mode": required_mode,
        "live_trades": live_trades,
        "risk": {
            "daily_pnl": str(-daily_loss),
            "daily_loss": str(daily_loss),
            "max_daily_loss": str(max_daily_loss),
            "daily_loss_over_limit": daily_loss >= max_daily_loss,
        },
    }


@dataclass
class NodeState:
    token: str = TOKEN
    health: dict[str, Any] = field(default_factory=lambda: health_body(price_time=time.time()))
    health_status: int = 200
    delay_s: float = 0.0
    refused: int = 0  # 401s answered
    seen_tokens: list[str] = field(default_factory=list)


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def fake_node(state: NodeState) -> Iterator[str]:
    """An HTTP server answering /healthz and /health as the node does; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            time.sleep(state.delay_s)
            if self.path == "/healthz":
                ok = state.health_status == 200
                self._send(200 if ok else 503, {"status": "ok" if ok else "not ok"})
                return
            supplied = self.headers.get("Authorization", "").removeprefix("Bearer ")
            state.seen_tokens.append(supplied)
            if supplied != state.token:
                state.refused += 1
                self._send(401, {"error": "missing or wrong bearer token"})
                return
            if self.path == "/health":
                self._send(state.health_status, state.health)
            else:
                self._send(404, {"error": "not found"})

    with _serving(Handler) as url:
        yield url


@dataclass
class RpcState:
    head: int = 1000
    delay_s: float = 0.0
    calls: int = 0


@contextmanager
def fake_rpc(state: RpcState) -> Iterator[str]:
    """A JSON-RPC endpoint answering eth_blockNumber with ``state.head``; yields its URL (with
    a key in its path, as provider URLs have)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            request = json.loads(self.rfile.read(length))
            state.calls += 1
            time.sleep(state.delay_s)
            answer = {"jsonrpc": "2.0", "id": request["id"], "result": hex(state.head)}
            data = json.dumps(answer).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    with _serving(Handler) as url:
        yield url + "/v1/SECRET-API-KEY-42"


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers (nor closes); yields a URL
    with a key in it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1/SILENT-API-KEY-7"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def closed_port() -> str:
    """A URL on a loopback port where nothing listens (connection refused)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
