"""A loopback TCP listener whose accept loop runs on a thread until the test is done."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

from tests.support.waiting import WITHIN_S


@contextlib.contextmanager
def accepting(handle: Callable[[socket.socket, int], None], backlog: int = 16) -> Iterator[int]:
    """Listens on a free loopback port (yielded) and calls ``handle(connection, peer_port)``
    for each connection, in the order they came, on one thread; closed afterwards."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    listener.settimeout(0.2)  # how often the loop looks whether the test is done
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, peer = listener.accept()
            except TimeoutError:
                continue
            handle(conn, peer[1])

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(WITHIN_S)
        listener.close()
