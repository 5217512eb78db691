"""The stack's own control endpoints on loopback (``POST /rpc/cut``, ``POST /rpc/restore``):
each path calls its function with the JSON body and answers its result; a function that fails
answers 500 with the error."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any

from laptop.local_http import LocalHttpServer

log = logging.getLogger(__name__)

MAX_BODY = 1_000_000

Route = Callable[[dict[str, Any]], Any]


class Control(LocalHttpServer):
    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1") -> None:
        self.routes = routes
        super().__init__(_handler_for(self), host, 0)

    def dispatch(self, path: str, payload: dict[str, Any]) -> tuple[int, str]:
        route = self.routes.get(path)
        if route is None:
            return 404, "no such endpoint"
        try:
            result = route(payload)
        except Exception as err:
            log.error("%s failed: %s", path, err)
            return 500, f"{type(err).__name__}: {err}"
        return 200, json.dumps(result, default=str)


def _handler_for(c: Control) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, text = 400, "bad body"
            if 0 < length <= MAX_BODY:
                try:
                    payload = json.loads(self.rfile.read(length))
                except ValueError:
                    payload = None
                if isinstance(payload, dict):
                    status, text = c.dispatch(self.path, payload)
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler
