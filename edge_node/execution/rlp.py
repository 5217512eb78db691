"""Recursive Length Prefix encoding: as much of it as transactions need, and fast.

Strings are ``bytes``; integers are unsigned, big-endian, without leading zeros (0 is the
empty string); lists nest. Decoding is not needed (we only ever send transactions), so there
is none.

The building blocks (``encode_uint``, ``encode_bytes``, ``list_header``) are public so that
the signing templates can pre-encode the parts of a transaction that never change and join
the rest with plain concatenation; ``encode`` is the general, recursive form.
"""

from __future__ import annotations

from typing import TypeAlias

Item: TypeAlias = "bytes | bytearray | int | list[Item] | tuple[Item, ...]"

_SHORT_STRING = 0x80  # + length, for strings of 0..55 bytes
_LONG_STRING = 0xB7  # + length of the length, for longer strings
_SHORT_LIST = 0xC0  # + length, for list payloads of 0..55 bytes
_LONG_LIST = 0xF7  # + length of the length, for longer list payloads
_SHORT_LIMIT = 56
_MAX_LENGTH = (1 << 64) - 1  # a length of the length must fit in one byte below 0xC0 / 0x100

# Every integer below 0x80 is its own single-byte encoding, except 0 (the empty string).
_SMALL_UINTS: tuple[bytes, ...] = (b"\x80", *(bytes((i,)) for i in range(1, 0x80)))
_STRING_HEADERS: tuple[bytes, ...] = tuple(bytes((_SHORT_STRING + n,)) for n in range(56))
_LIST_HEADERS: tuple[bytes, ...] = tuple(bytes((_SHORT_LIST + n,)) for n in range(56))


def _long_header(base: int, length: int) -> bytes:
    if length > _MAX_LENGTH:
        raise ValueError(f"RLP item of {length} bytes is too long")
    size = length.to_bytes((length.bit_length() + 7) >> 3, "big")
    return bytes((base + len(size),)) + size


def encode_uint(n: int) -> bytes:
    """The RLP encoding of a non-negative integer."""
    if n < 0x80:
        if n < 0:
            raise ValueError(f"RLP cannot encode a negative integer ({n})")
        return _SMALL_UINTS[n]
    b = n.to_bytes((n.bit_length() + 7) >> 3, "big")
    length = len(b)
    if length < _SHORT_LIMIT:
        return _STRING_HEADERS[length] + b
    return _long_header(_LONG_STRING, length) + b


def encode_bytes(b: bytes | bytearray) -> bytes:
    """The RLP encoding of a byte string."""
    length = len(b)
    if length == 1 and b[0] < 0x80:
        return bytes(b)
    if length < _SHORT_LIMIT:
        return _STRING_HEADERS[length] + b
    return _long_header(_LONG_STRING, length) + b


def list_header(payload_length: int) -> bytes:
    """The prefix of a list whose items, encoded and concatenated, take ``payload_length`` bytes."""
    if payload_length < _SHORT_LIMIT:
        return _LIST_HEADERS[payload_length]
    return _long_header(_LONG_LIST, payload_length)


def encode_list(items: list[Item] | tuple[Item, ...]) -> bytes:
    payload = b"".join([encode(item) for item in items])
    return list_header(len(payload)) + payload


def encode(item: Item) -> bytes:
    """The RLP encoding of bytes, a non-negative int, or a (nested) list or tuple of those.

    Raises ValueError for negative integers and TypeError for anything else (bool included:
    a flag in a transaction field is a bug, not the integer 0 or 1).
    """
    if isinstance(item, bytes | bytearray):
        return encode_bytes(item)
    if isinstance(item, bool):
        raise TypeError("RLP does not encode bool; pass 0 or 1")
    if isinstance(item, int):
        return encode_uint(item)
    if isinstance(item, list | tuple):
        return encode_list(item)
    raise TypeError(f"RLP cannot encode {type(item).__name__}")
