"""Keccak-256 for the signing hot path.

pycryptodome's public keccak API allocates a hash object and makes four calls into C per
digest (about 5 µs here, for a 100-byte input). Its C library can also be driven directly:
one state per thread, reset / absorb / digest, about 1.5 µs. We use that when the library
looks the way we expect and gives the right answer on known vectors, and the public API
otherwise. The state is per thread because cffi releases the GIL during C calls. It takes
bytes only: anything else is a TypeError from cffi, never a wrong digest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from edge_node.chain.keccak import keccak256

_KECCAK_VECTORS = (
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    (bytes(range(256)) * 3, ""),  # several blocks: compared with the public API below
)


def _direct_keccak() -> Callable[[bytes], bytes] | None:
    try:
        from Crypto.Hash import keccak as crypto_keccak
        from Crypto.Util import _raw_api

        if getattr(_raw_api, "backend", None) != "cffi":
            return None
        ffi: Any = _raw_api.ffi
        lib: Any = crypto_keccak._raw_keccak_lib  # type: ignore[attr-defined]
        reset, absorb, digest = lib.keccak_reset, lib.keccak_absorb, lib.keccak_digest
    except Exception:  # any other pycryptodome layout: use the public API
        return None

    local = threading.local()

    def new_state() -> tuple[Any, Any, Any]:
        holder = ffi.new("void **")
        if lib.keccak_init(holder, 64, 24):  # capacity 2 * 32 bytes, 24 rounds: Keccak-256
            raise RuntimeError("keccak_init failed")
        state = ffi.gc(holder[0], lib.keccak_destroy)
        out = ffi.new("uint8_t[32]")
        return state, out, ffi.buffer(out)

    def keccak(data: bytes) -> bytes:
        try:
            state, out, view = local.state
        except AttributeError:
            state, out, view = local.state = new_state()
        if reset(state) or absorb(state, data, len(data)) or digest(state, out, 32, 1):
            raise RuntimeError("keccak failed in pycryptodome's C library")
        return bytes(view)

    try:
        for data, expected in _KECCAK_VECTORS:
            got = keccak(data)
            if got != keccak256(data) or (expected and got.hex() != expected):
                return None
    except Exception:
        return None
    return keccak


keccak: Callable[[bytes], bytes] = _direct_keccak() or keccak256
