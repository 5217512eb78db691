"""A loopback HTTP server standing in for the node's authenticated ``/health``: it accepts
the bearer tokens in ``accepted`` (changed by the test) and answers 401 to any other."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class NodeStub:
    def __init__(self) -> None:
        self.accepted: set[str] = set()
        self.seen: list[int] = []
        self.url = ""


@contextmanager
def node_stub(status_when_accepted: int = 200) -> Iterator[NodeStub]:
    stub = NodeStub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization", "")
            token = auth.removeprefix("Bearer ")
            code = status_when_accepted if token in stub.accepted else 401
            stub.seen.append(code)
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
