"""A loopback endpoint that accepts connections and never answers: what a hung AWS endpoint
looks like to a client. It counts the connections reliably: its accept thread can lag behind
the client on a loaded machine, so the count is read after a sentinel connection."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.waiting import WITHIN_S, eventually


@dataclass
class SilentServer:
    port: int
    peers: list[int] = field(default_factory=list)  # client ports accepted, in order

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connections_before_now(self) -> int:
        """How many connections were made before this call. A sentinel connection made now is
        accepted after all of them (the backlog is in order): once it is, the count is whole."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=WITHIN_S) as sentinel:
            mine = sentinel.getsockname()[1]
            eventually(lambda: mine in self.peers, what="the sentinel connection")
        return self.peers.index(mine)


@contextlib.contextmanager
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)  # how often the accept loop looks at ``stop``
    server = SilentServer(listener.getsockname()[1])
    held: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            held.append(conn)
            server.peers.append(peer[1])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(WITHIN_S)
        for conn in held:
            conn.close()
        listener.close()
