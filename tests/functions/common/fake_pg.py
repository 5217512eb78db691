"""A loopback server speaking just enough of PostgreSQL's protocol to refuse a login the way
a real server does (an ErrorResponse with SQLSTATE 28P01), so that psycopg raises the exact
exception a rotated password produces. The test server runs with trust auth and cannot."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.loopback import accepting

_SSL_OR_GSS = {80877103, 80877104}


def _error_response(user: str) -> bytes:
    fields = b"".join(
        code + text.encode() + b"\0"
        for code, text in (
            (b"S", "FATAL"),
            (b"V", "FATAL"),
            (b"C", "28P01"),
            (b"M", f'password authentication failed for user "{user}"'),
        )
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!I", len(body) + 4) + body


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _serve_one(conn: socket.socket) -> None:
    with conn:
        conn.settimeout(30)  # a client on a loaded machine can take seconds to write
        try:
            while True:
                (length,) = struct.unpack("!I", _recv_exact(conn, 4))
                body = _recv_exact(conn, length - 4)
                (code,) = struct.unpack("!I", body[:4])
                if code in _SSL_OR_GSS:
                    conn.sendall(b"N")  # no TLS, no GSS: go on in plain text
                    continue
                parts = body[4:].split(b"\0")
                params = dict(zip(parts[::2], parts[1::2], strict=False))
                conn.sendall(_error_response(params.get(b"user", b"?").decode()))
                return
        except (ConnectionError, TimeoutError, struct.error):
            return


@contextmanager
def refusing_postgres() -> Iterator[int]:
    """The port of a server that refuses every login with "password authentication failed"."""
    with accepting(lambda conn, _peer: _serve_one(conn), backlog=8) as port:
        yield port
