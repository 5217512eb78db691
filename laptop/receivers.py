"""The local HTTP endpoint Alertmanager posts to, standing in for the Lambda function URLs /
SNS subscriptions: ``POST /fanout`` calls the fan-out's real handler in-process with the
webhook as its event; ``POST /runbook/pause-trading`` hands it to the pause-trading runbook
function, gated as deployed (laptop/runbook.py).

A handler that fails answers 500, so Alertmanager retries, as Lambda's failure would make it.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from laptop.local_http import LocalHttpServer

log = logging.getLogger(__name__)

MAX_BODY = 5_000_000


@dataclass
class LambdaContext:
    """What Lambda passes as ``context`` (the attributes powertools and our handlers read)."""

    function_name: str
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/laptop"
    log_stream_name: str = "laptop"
    timeout_s: float = 120.0
    _start: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_s - (time.monotonic() - self._start)) * 1000))


@dataclass(frozen=True, slots=True)
class Delivery:
    path: str
    at: float
    ok: bool
    summary: str


Route = Callable[[dict[str, Any]], Any]


class Receivers(LocalHttpServer):
    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1") -> None:
        self.routes = routes
        self.deliveries: deque[Delivery] = deque(maxlen=500)
        super().__init__(_handler_for(self), host, 0)

    def dispatch(self, path: str, payload: dict[str, Any]) -> tuple[int, str]:
        route = self.routes.get(path)
        if route is None:
            return 404, "no such receiver"
        alerts = payload.get("alerts") or []
        what = ", ".join(
            f"{a.get('labels', {}).get('alertname')} {a.get('status')}" for a in alerts
        )
        try:
            result = route(payload)
        except Exception as err:  # the handler failed: Alertmanager retries, as with Lambda
            log.error("%s failed on %s: %s", path, what, err)
            self.deliveries.append(Delivery(path, time.time(), False, f"{what}: {err}"))
            return 500, f"{type(err).__name__}: {err}"
        self.deliveries.append(Delivery(path, time.time(), True, what))
        return 200, json.dumps(result, default=str)


def _handler_for(r: Receivers) -> type[BaseHTTPRequestHandler]:
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
                    status, text = r.dispatch(self.path, payload)
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def fanout_route() -> Route:
    """The fan-out's Lambda handler, called as Lambda would call it."""

    def call(payload: dict[str, Any]) -> Any:
        from functions.fanout import handler

        return handler.handler(payload, LambdaContext("edge-laptop-fanout"))

    return call
