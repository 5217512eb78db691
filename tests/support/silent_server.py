"""A loopback endpoint that accepts connections and never answers: what a hung AWS endpoint
looks like to a client. It counts the connections reliably: its accept thread can lag behind
the client on a loaded machine, so the count is read after a sentinel connection."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

from tests.support.loopback import accepting
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
    held: list[socket.socket] = []
    peers: list[int] = []

    def hold(conn: socket.socket, peer: int) -> None:
        held.append(conn)
        peers.append(peer)

    try:
        with accepting(hold) as port:
            yield SilentServer(port, peers)
    finally:
        for conn in held:
            conn.close()
