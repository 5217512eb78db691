"""Decoding of logs and headers into events, without web3.

This is the hot path: a subscription message is parsed once, by msgspec, straight into a
typed ``RawLog`` (types and lengths checked in C, see ``wire.py``), and decoded here by slicing
the hex ``data`` into 32-byte words. web3's ``process_log`` does the same work through generic
ABI machinery far more slowly (see ``tests/benchmarks``).

What is checked where:

- Numbers are checked strictly here, because they become state: ``data`` must be exactly the
  event's words of hex, ``blockNumber``/``logIndex`` hex quantities (no sign, underscore,
  whitespace or non-ASCII digit, all of which ``int()`` would accept), values in their ABI
  ranges (uint112 reserves, V3 price/liquidity/tick).
- Positions are checked against the store's columns: a log index must fit PostgreSQL's
  ``integer`` (below 2^31), a block number or timestamp its ``bigint`` (below 2^63). A value
  the store cannot hold would fail its write for good; refused here, it is counted and asked
  for again elsewhere.
- The layout is checked strictly: topic count, indexed addresses left-padded with zeros, the
  0x prefix of every field.
- Identifiers (pool address, hashes, indexed addresses) have their type and exact length
  checked by the parser, but their prefix and hex digits are not re-validated on this path:
  a pool address must match a configured pool, a block hash must match the confirmed
  header's, and the store writer validates (and counts) transaction hashes and the
  sender/recipient addresses before storing them, lower-cased.

Contract: every decoder either returns a value or raises :class:`MalformedLog` /
:class:`MalformedHeader`. Nothing else escapes, whatever the input (this is fuzzed), so the
caller counts the error in ``market_data_errors_total`` and carries on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from edge_node.chain import abi, accel
from edge_node.chain.events import (
    BlockHeader,
    LiquidityEvent,
    PoolEvent,
    SwapV2Event,
    SwapV3Event,
    SyncEvent,
)
from edge_node.chain.wire import RawHeader, RawLog

# NamedTuple construction without the generated Python __new__: tuple's own, in C.
_new = tuple.__new__
_PAD = "0x" + "0" * 24
_MASK = (1 << 256) - 1
_U112 = 1 << 112
_U128 = 1 << 128
_U160 = 1 << 160
_U255 = 1 << 255
_U256 = 1 << 256
_I24_MIN, _I24_MAX = -(1 << 23), (1 << 23) - 1
# Exclusive bounds of the store's int32 (log index) and int64 (block number, timestamp) columns.
LOG_INDEX_LIMIT = 1 << 31
BIGINT_LIMIT = 1 << 63


# Canonical lower-case strings of the pool addresses and block hashes seen lately: every log of
# a block carries the same block hash, and a pool's address repeats in all its logs, so one
# shared string per value replaces a fresh lower() copy per log (fewer allocations, and later
# comparisons of these strings often succeed on identity alone).
_CANONICAL: dict[str, str] = {}
_CANONICAL_MAX = 8192


def _canonical(s: str) -> str:
    c = _CANONICAL.get(s)
    if c is None:
        if len(_CANONICAL) >= _CANONICAL_MAX:
            _CANONICAL.clear()
        low = s.lower()
        c = _CANONICAL.setdefault(low, low)
        _CANONICAL[s] = c
    return c


class MalformedLog(ValueError):
    """A log that cannot be what it claims to be; count it, skip it, keep going."""


class MalformedHeader(ValueError):
    """A block header missing fields or carrying impossible values."""


def _signed(v: int) -> int:
    return v - _U256 if v >= _U255 else v


def _check(raw: RawLog, n_topics: int, n_words: int) -> tuple[int, int, int]:
    """Validate the layout and numbers of a log; returns its data as one integer, its block
    number and its log index.

    Written flat and measured: this runs for every log (see the module docstring for what is
    and is not checked here).
    """
    topics, data, number, index = raw.topics, raw.data, raw.block_number, raw.log_index
    if len(topics) != n_topics or len(data) != 2 + 64 * n_words:
        raise MalformedLog(f"expected {n_topics} topics and {n_words} data words")
    if not (data[0] == number[0] == index[0] == "0" and data[1] == number[1] == index[1] == "x"):
        raise MalformedLog("data, blockNumber or logIndex lacks its 0x prefix")
    quantities = number + index
    if not (quantities.isascii() and quantities.isalnum()) or len(index) > 10:
        raise MalformedLog("blockNumber or logIndex is not a hex quantity")
    if n_topics > 1 and not (
        topics[1].startswith(_PAD) and (n_topics == 2 or topics[2].startswith(_PAD))
    ):
        raise MalformedLog("indexed topic is not a left-padded 20-byte address")
    try:
        words = bytes.fromhex(data[2:])  # strict about digits
    except ValueError:
        raise MalformedLog("data is not hex") from None
    if len(words) != 32 * n_words:  # fromhex skips whitespace: the length exposes it
        raise MalformedLog("data is not hex")
    block, log_index = int(number, 16), int(index, 16)
    if block >= BIGINT_LIMIT or log_index >= LOG_INDEX_LIMIT:
        raise MalformedLog("blockNumber or logIndex out of range")
    return int.from_bytes(words, "big"), block, log_index


# The node runs the compiled V2 decoders (_fastdecode.pyx) when they are built; these are the
# reference the tests hold the compiled ones to, and the fallback without a C compiler.


def _v2_swap(raw: RawLog) -> SwapV2Event:
    n, block, log_index = _check(raw, 3, 4)
    topics, address, block_hash = raw.topics, raw.address, raw.block_hash
    return _new(
        SwapV2Event,
        (
            _CANONICAL.get(address) or _canonical(address),
            block,
            _CANONICAL.get(block_hash) or _canonical(block_hash),
            log_index,
            raw.transaction_hash,
            raw.removed,
            topics[1],
            topics[2],
            n >> 768,
            (n >> 512) & _MASK,
            (n >> 256) & _MASK,
            n & _MASK,
        ),
    )


def _v2_sync(raw: RawLog) -> SyncEvent:
    n, block, log_index = _check(raw, 1, 2)
    r0, r1 = n >> 256, n & _MASK
    if r0 >= _U112 or r1 >= _U112:
        raise MalformedLog("Sync reserves exceed uint112")
    address, block_hash = raw.address, raw.block_hash
    return _new(
        SyncEvent,
        (
            _CANONICAL.get(address) or _canonical(address),
            block,
            _CANONICAL.get(block_hash) or _canonical(block_hash),
            log_index,
            raw.transaction_hash,
            raw.removed,
            r0,
            r1,
        ),
    )


def _v3_swap_words(raw: RawLog, words: int) -> SwapV3Event:
    n, block, log_index = _check(raw, 3, words)
    n >>= 256 * (words - 5)  # PancakeSwap's fee words are not needed
    sqrt_price, liquidity = (n >> 512) & _MASK, (n >> 256) & _MASK
    tick = _signed(n & _MASK)
    if sqrt_price >= _U160 or liquidity >= _U128 or not _I24_MIN <= tick <= _I24_MAX:
        raise MalformedLog("V3 Swap values out of their ABI ranges")
    topics = raw.topics
    return SwapV3Event(
        _canonical(raw.address),
        block,
        _canonical(raw.block_hash),
        log_index,
        raw.transaction_hash,
        raw.removed,
        topics[1],
        topics[2],
        _signed(n >> 1024),
        _signed((n >> 768) & _MASK),
        sqrt_price,
        liquidity,
        tick,
    )


def _v3_swap(raw: RawLog) -> SwapV3Event:
    return _v3_swap_words(raw, 5)


def _pancake_v3_swap(raw: RawLog) -> SwapV3Event:
    return _v3_swap_words(raw, 7)


def _v2_liquidity(raw: RawLog, kind: str, n_topics: int) -> LiquidityEvent:
    n, block, log_index = _check(raw, n_topics, 2)
    return LiquidityEvent(
        _canonical(raw.address),
        block,
        _canonical(raw.block_hash),
        log_index,
        raw.transaction_hash,
        raw.removed,
        kind,
        raw.topics[1],
        n >> 256,
        n & _MASK,
    )


def _v2_mint(raw: RawLog) -> LiquidityEvent:
    return _v2_liquidity(raw, "mint", 2)


def _v2_burn(raw: RawLog) -> LiquidityEvent:
    return _v2_liquidity(raw, "burn", 3)


PYTHON_DECODERS: dict[str, Callable[[RawLog], PoolEvent]] = {
    abi.V2_SWAP: _v2_swap,
    abi.V2_SYNC: _v2_sync,
    abi.V2_MINT: _v2_mint,
    abi.V2_BURN: _v2_burn,
    abi.V3_SWAP: _v3_swap,
    abi.PANCAKE_V3_SWAP: _pancake_v3_swap,
}
_DECODERS = dict(PYTHON_DECODERS)

# The compiled V2 decoders, when built from the current source (see accel.py).
_compiled = accel.load()
ACCELERATED = _compiled is not None
if _compiled is not None:
    _compiled.init(MalformedLog, SwapV2Event, SyncEvent, _CANONICAL, _canonical)


def use_compiled(enabled: bool) -> bool:
    """Select the compiled V2 decoders (if built) or the pure-Python ones; returns whether the
    compiled ones are now in use. Tests and the benchmark compare the two."""
    if enabled and _compiled is not None:
        _DECODERS[abi.V2_SWAP] = _compiled.v2_swap
        _DECODERS[abi.V2_SYNC] = _compiled.v2_sync
        return True
    _DECODERS[abi.V2_SWAP] = PYTHON_DECODERS[abi.V2_SWAP]
    _DECODERS[abi.V2_SYNC] = PYTHON_DECODERS[abi.V2_SYNC]
    return False


use_compiled(True)


def decode_log(raw: RawLog) -> PoolEvent | None:
    """Decode one typed log.

    Returns None for a well-formed log whose event we do not follow (another topic0).
    Raises MalformedLog for anything that is not a valid log of a followed event.
    """
    topics = raw.topics
    if not topics:
        raise MalformedLog("log without topics")
    decoder = _DECODERS.get(topics[0]) or _DECODERS.get(topics[0].lower())
    if decoder is None:
        return None
    try:
        return decoder(raw)
    except MalformedLog:
        raise
    except (ValueError, IndexError) as err:  # int() of a quantity with a non-hex letter
        raise MalformedLog(f"{type(err).__name__}: {err}") from None


def to_raw_log(obj: Any) -> RawLog:
    """A JSON-like object (as json/orjson produce) as a typed log, or MalformedLog."""
    try:
        return msgspec.convert(obj, RawLog)
    except msgspec.ValidationError as err:
        raise MalformedLog(f"log structure: {err}") from None


def decode_log_json(obj: Any) -> PoolEvent | None:
    """decode_log for a JSON-like object; the same contract."""
    return decode_log(to_raw_log(obj))


def header_from_raw(raw: RawHeader) -> BlockHeader:
    """A header from ``newHeads`` or ``eth_getBlockByNumber``.

    Only number, hash, parentHash and timestamp are read. ``extraData`` is never looked at, so
    BSC headers (whose extraData carries validator signatures and is far longer than 32 bytes)
    parse like any other.
    """
    number, bhash, parent, ts = raw.number, raw.hash, raw.parent_hash, raw.timestamp
    for v in (number, ts):
        if v[:2] != "0x" or not (v.isascii() and v.isalnum()):
            raise MalformedHeader("number or timestamp is not a hex quantity")
    for v in (bhash, parent):
        if v[:2] != "0x":
            raise MalformedHeader("hash or parentHash lacks its 0x prefix")
        try:
            bytes.fromhex(v[2:])
        except ValueError:
            raise MalformedHeader("hash or parentHash is not hex") from None
    try:
        n, t = int(number, 16), int(ts, 16)
    except ValueError:
        raise MalformedHeader("number or timestamp is not a hex quantity") from None
    if n >= BIGINT_LIMIT or t >= BIGINT_LIMIT:
        raise MalformedHeader("number or timestamp out of range")
    return BlockHeader(n, _canonical(bhash), _canonical(parent), t)


def parse_header(obj: Any) -> BlockHeader:
    """header_from_raw for a JSON-like object; raises MalformedHeader on anything malformed."""
    try:
        raw = msgspec.convert(obj, RawHeader)
    except msgspec.ValidationError as err:
        raise MalformedHeader(f"header structure: {err}") from None
    return header_from_raw(raw)
