"""A stand-in for the node's HTTP API: records the requests, answers as the node would, and can
be told to be down (/healthz 503) or to come back after a number of checks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class StubNode(ThreadingHTTPServer):
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any]]] = []
        self.state = "running"
        self.healthy = True
        self.healthy_after_checks: int | None = None  # /healthz turns ok after N checks
        self.healthz_checks = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def posted(self, path: str) -> list[dict[str, Any]]:
        return [body for method, p, body in self.requests if method == "POST" and p == path]


class _Handler(BaseHTTPRequestHandler):
    server: StubNode

    def _send(self, code: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        s = self.server
        s.requests.append(("GET", self.path, {}))
        if self.path == "/healthz":
            s.healthz_checks += 1
            if s.healthy_after_checks is not None and s.healthz_checks > s.healthy_after_checks:
                s.healthy = True
            self._send(200 if s.healthy else 503, {"status": "ok" if s.healthy else "not ok"})
        elif self.path == "/health":
            detail = {
                "status": "ok",
                "chain": {"last_processed_block": 100, "head_lag_blocks": 9},
                "trading": {"mode": "paper", "control": {"state": s.state}},
            }
            self._send(200, detail)
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        s = self.server
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        s.requests.append(("POST", self.path, body))
        action = self.path.removeprefix("/admin/")
        if action == "pause":
            changed = s.state == "running"
            s.state = "paused" if changed else s.state
        elif action == "emergency-stop":
            changed = s.state != "stopped"
            s.state = "stopped"
        else:
            self._send(404, {"error": "not found"})
            return
        self._send(200, {"state": s.state, "changed": changed, "halted_in_ms": 0.4})

    def log_message(self, *_: Any) -> None:
        pass


@contextmanager
def stub_node() -> Iterator[StubNode]:
    server = StubNode()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
