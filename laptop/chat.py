"""A local stand-in for Slack, PagerDuty and Telegram: records every post, shows them.

``POST /slack``, ``POST /pagerduty`` and ``POST /telegram/bot<token>/sendMessage`` are what the
fan-out's secret and settings point at; each post is kept in memory (bounded) with its channel
and arrival time. ``GET /`` is a page listing them (newest first, refreshing itself) and
``GET /posts.json`` the same as JSON, which the end-to-end test reads.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from laptop.local_http import LocalHttpServer

MAX_POSTS = 500
MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class Post:
    channel: str
    at: float
    body: Any

    @property
    def raw(self) -> str:
        return json.dumps(self.body)

    @property
    def text(self) -> str:
        """What a reader sees: the message's text, whatever the channel calls it."""
        b = self.body
        if isinstance(b, dict):
            for key in ("text", "summary"):
                if isinstance(b.get(key), str):
                    return str(b[key])
            payload = b.get("payload")
            if isinstance(payload, dict) and isinstance(payload.get("summary"), str):
                return str(payload["summary"])
        return json.dumps(b)[:2000]


class ChatStandIn(LocalHttpServer):
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.posts: deque[Post] = deque(maxlen=MAX_POSTS)
        self._lock = threading.Lock()
        super().__init__(_handler_for(self), host, port)

    def record(self, channel: str, body: Any) -> None:
        with self._lock:
            self.posts.append(Post(channel, time.time(), body))

    def snapshot(self) -> list[Post]:
        with self._lock:
            return list(self.posts)


def channel_of(path: str) -> str | None:
    for name in ("slack", "pagerduty", "telegram"):
        if path == f"/{name}" or path.startswith(f"/{name}/"):
            return name
    return None


def render_page(posts: list[Post]) -> str:
    rows = "".join(
        f"<tr><td>{time.strftime('%H:%M:%S', time.gmtime(p.at))}</td>"
        f"<td>{html.escape(p.channel)}</td><td><pre>{html.escape(p.text)}</pre></td></tr>"
        for p in reversed(posts)
    )
    return (
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=3>"
        "<title>edge stack: alerts</title><h1>What the team would see</h1>"
        f"<p>{len(posts)} posts (Slack, PagerDuty, Telegram stand-ins), newest first, UTC.</p>"
        "<table border=1 cellpadding=4><tr><th>time</th><th>channel</th><th>message</th></tr>"
        f"{rows}</table>"
    )


def _handler_for(chat: ChatStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # the page is the log

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/posts.json":
                data = [asdict(p) | {"text": p.text} for p in chat.snapshot()]
                self._send(200, json.dumps(data).encode(), "application/json")
            elif self.path == "/":
                self._send(200, render_page(chat.snapshot()).encode(), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            channel = channel_of(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            if channel is None or not 0 < length <= MAX_BODY:
                self._send(400, b"unknown channel or bad body", "text/plain")
                return
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                self._send(400, b"not JSON", "text/plain")
                return
            chat.record(channel, body)
            if channel == "slack":
                self._send(200, b"ok", "text/plain")
            elif channel == "pagerduty":
                self._send(202, b'{"status":"success"}', "application/json")
            else:
                self._send(200, b'{"ok":true}', "application/json")

    return Handler
