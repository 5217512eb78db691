"""Local HTTP servers (threads on 127.0.0.1) standing in for Slack, PagerDuty and Telegram.

Each answers from a script, one reply per request (the last one repeats): a status with
headers and body, or HANG (read the request, answer nothing: the client must time out).
Every request is recorded (path, JSON body, arrival time).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = "hang"


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    body: Any
    at: float


class Sink:
    def __init__(self, name: str, default: Reply) -> None:
        self.name = name
        self.default = default
        self.script: list[Reply | str] = []
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.release = threading.Event()  # set to end every hanging request
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with sink.lock:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw.decode(errors="replace")
                    sink.requests.append(Seen(self.path, body, time.perf_counter()))
                    reply = (
                        sink.script.pop(0)
                        if len(sink.script) > 1
                        else sink.script[0]
                        if sink.script
                        else sink.default
                    )
                if reply == HANG:
                    sink.release.wait(30)
                    self.close_connection = True
                    return
                assert isinstance(reply, Reply)
                data = (
                    b""
                    if reply.body is None
                    else (
                        reply.body.encode()
                        if isinstance(reply.body, str)
                        else json.dumps(reply.body).encode()
                    )
                )
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.request_queue_size = 256
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def answer(self, *replies: Reply | str) -> None:
        with self.lock:
            self.script = list(replies)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r.body for r in self.requests]


SLACK_OK = Reply(200, "ok")
PAGERDUTY_OK = Reply(202, {"status": "success", "message": "Event processed", "dedup_key": "x"})
TELEGRAM_OK = Reply(200, {"ok": True, "result": {"message_id": 1}})


@dataclass
class Sinks:
    slack: Sink
    pagerduty: Sink
    telegram: Sink

    def all(self) -> list[Sink]:
        return [self.slack, self.pagerduty, self.telegram]


@contextmanager
def running_sinks() -> Iterator[Sinks]:
    sinks = Sinks(
        Sink("slack", SLACK_OK), Sink("pagerduty", PAGERDUTY_OK), Sink("telegram", TELEGRAM_OK)
    )
    for s in sinks.all():
        s.thread.start()
    try:
        yield sinks
    finally:
        for s in sinks.all():
            s.release.set()
            s.server.shutdown()
            s.server.server_close()
