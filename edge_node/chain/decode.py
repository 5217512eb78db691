"""Decoding of JSON-RPC logs and headers into events, without web3.

This is the hot path: a subscription message is parsed once (orjson) and its log decoded by
slicing the hex ``data`` into 32-byte words. web3's ``process_log`` does the same work through
generic ABI machinery about a hundred times slower (see ``tests/benchmarks``).

Contract: every decoder either returns a value or raises :class:`MalformedLog` /
:class:`MalformedHeader`. Nothing else escapes, whatever the input (this is fuzzed), so the
caller counts the error in ``market_data_errors_total`` and carries on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from edge_node.chain import abi
from edge_node.chain.events import (
    BlockHeader,
    LiquidityEvent,
    PoolEvent,
    SwapV2Event,
    SwapV3Event,
    SyncEvent,
)

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_QUANTITY = re.compile(r"0x[0-9a-fA-F]{1,64}")

_ADDRESS_TOPIC_PREFIX = "0x" + "0" * 24
_MASK = (1 << 256) - 1
_U112 = 1 << 112
_U128 = 1 << 128
_U160 = 1 << 160
_U255 = 1 << 255
_U256 = 1 << 256
_I24_MIN, _I24_MAX = -(1 << 23), (1 << 23) - 1


class MalformedLog(ValueError):
    """A log that cannot be what it claims to be; count it, skip it, keep going."""


class MalformedHeader(ValueError):
    """A block header missing fields or carrying impossible values."""


def _signed(v: int) -> int:
    return v - _U256 if v >= _U255 else v


def _parse(
    log: Mapping[str, Any], n_topics: int, n_words: int
) -> tuple[str, int, str, int, str, bool, list[Any], int]:
    """Validate a log of n_topics topics (the indexed ones left-padded addresses) and n_words
    data words. Returns (pool, block number, block hash, log index, tx hash, removed, topics,
    data as one integer), hashes and addresses in lower case.

    All hex is checked in one bytes.fromhex call over the concatenated fields: fromhex is
    strict about digits, and the length of its output exposes any whitespace it skipped. The
    two quantities must be ASCII alphanumeric, which rules out the signs, underscores,
    whitespace and non-ASCII digits that int() would otherwise accept. One flat function,
    because on this path every Python call costs a measurable share of the budget.
    """
    topics, address, block_hash, tx_hash, data = (
        log["topics"],
        log["address"],
        log["blockHash"],
        log["transactionHash"],
        log["data"],
    )
    number, index = log["blockNumber"], log["logIndex"]
    if type(topics) is not list or len(topics) != n_topics:
        raise MalformedLog(f"expected {n_topics} topics")
    if (
        len(address) != 42
        or len(block_hash) != 66
        or len(tx_hash) != 66
        or len(data) != 2 + 64 * n_words
        or address[:2] != "0x"
        or block_hash[:2] != "0x"
        or tx_hash[:2] != "0x"
        or data[:2] != "0x"
    ):
        raise MalformedLog("address, hashes or data have the wrong length or no 0x (pending?)")
    if (
        number[:2] != "0x"
        or index[:2] != "0x"
        or not (number + index).isalnum()
        or not (number + index).isascii()
        or len(number) > 18
        or len(index) > 18
    ):
        raise MalformedLog("blockNumber or logIndex is not a hex quantity")
    hexes = data[2:] + address[2:] + block_hash[2:] + tx_hash[2:]
    if n_topics > 1:
        t1 = topics[1]
        if len(t1) != 66 or t1[:26] != _ADDRESS_TOPIC_PREFIX:
            raise MalformedLog("indexed topic is not a left-padded 20-byte address")
        hexes += t1[26:]
        if n_topics > 2:
            t2 = topics[2]
            if len(t2) != 66 or t2[:26] != _ADDRESS_TOPIC_PREFIX:
                raise MalformedLog("indexed topic is not a left-padded 20-byte address")
            hexes += t2[26:]
    raw = bytes.fromhex(hexes)
    if len(raw) * 2 != len(hexes):
        raise MalformedLog("whitespace in hex fields")
    removed = log.get("removed", False)
    if type(removed) is not bool:
        raise MalformedLog("removed is not a boolean")
    return (
        address.lower(),
        int(number, 16),
        block_hash.lower(),
        int(index, 16),
        tx_hash.lower(),
        removed,
        topics,
        int.from_bytes(raw[: 32 * n_words], "big"),
    )


def _v2_swap(log: Mapping[str, Any]) -> SwapV2Event:
    pool, number, bhash, index, tx, removed, topics, n = _parse(log, 3, 4)
    return SwapV2Event(
        pool,
        number,
        bhash,
        index,
        tx,
        removed,
        "0x" + topics[1][26:].lower(),
        "0x" + topics[2][26:].lower(),
        n >> 768,
        (n >> 512) & _MASK,
        (n >> 256) & _MASK,
        n & _MASK,
    )


def _v2_sync(log: Mapping[str, Any]) -> SyncEvent:
    pool, number, bhash, index, tx, removed, _, n = _parse(log, 1, 2)
    r0, r1 = n >> 256, n & _MASK
    if r0 >= _U112 or r1 >= _U112:
        raise MalformedLog("Sync reserves exceed uint112")
    return SyncEvent(pool, number, bhash, index, tx, removed, r0, r1)


def _v3_swap_words(log: Mapping[str, Any], words: int) -> SwapV3Event:
    pool, number, bhash, index, tx, removed, topics, n = _parse(log, 3, words)
    n >>= 256 * (words - 5)  # PancakeSwap's two trailing protocol-fee words are not needed
    sqrt_price, liquidity = (n >> 512) & _MASK, (n >> 256) & _MASK
    tick = _signed(n & _MASK)
    if sqrt_price >= _U160 or liquidity >= _U128 or not _I24_MIN <= tick <= _I24_MAX:
        raise MalformedLog("V3 Swap values out of their ABI ranges")
    return SwapV3Event(
        pool,
        number,
        bhash,
        index,
        tx,
        removed,
        "0x" + topics[1][26:].lower(),
        "0x" + topics[2][26:].lower(),
        _signed(n >> 1024),
        _signed((n >> 768) & _MASK),
        sqrt_price,
        liquidity,
        tick,
    )


def _v3_swap(log: Mapping[str, Any]) -> SwapV3Event:
    return _v3_swap_words(log, 5)


def _pancake_v3_swap(log: Mapping[str, Any]) -> SwapV3Event:
    return _v3_swap_words(log, 7)


def _v2_liquidity(log: Mapping[str, Any], kind: str, n_topics: int) -> LiquidityEvent:
    pool, number, bhash, index, tx, removed, topics, n = _parse(log, n_topics, 2)
    sender = "0x" + topics[1][26:].lower()
    return LiquidityEvent(
        pool, number, bhash, index, tx, removed, kind, sender, n >> 256, n & _MASK
    )


def _v2_mint(log: Mapping[str, Any]) -> LiquidityEvent:
    return _v2_liquidity(log, "mint", 2)


def _v2_burn(log: Mapping[str, Any]) -> LiquidityEvent:
    return _v2_liquidity(log, "burn", 3)


_DECODERS: dict[str, Callable[[Mapping[str, Any]], PoolEvent]] = {
    abi.V2_SWAP: _v2_swap,
    abi.V2_SYNC: _v2_sync,
    abi.V2_MINT: _v2_mint,
    abi.V2_BURN: _v2_burn,
    abi.V3_SWAP: _v3_swap,
    abi.PANCAKE_V3_SWAP: _pancake_v3_swap,
}


def decode_log(log: Any) -> PoolEvent | None:
    """Decode one JSON-RPC log object.

    Returns None for a well-formed log whose event we do not follow (another topic0).
    Raises MalformedLog for anything else that is not a valid log of a followed event.
    """
    try:
        topic0 = log["topics"][0]
        decoder = _DECODERS.get(topic0)
        if decoder is None:
            if type(topic0) is str and _HASH.fullmatch(topic0):
                # Node software may send upper-case hex; look again before calling it foreign.
                decoder = _DECODERS.get(topic0.lower())
            else:
                raise MalformedLog("topic0 is not a 32-byte hash")
            if decoder is None:
                return None
        return decoder(log)
    except MalformedLog:
        raise
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        raise MalformedLog(f"log structure: {type(err).__name__}: {err}") from None


def parse_header(obj: Any) -> BlockHeader:
    """A header from ``newHeads`` or ``eth_getBlockByNumber``.

    Only number, hash, parentHash and timestamp are read. ``extraData`` is never looked at, so
    BSC headers (whose extraData carries validator signatures and is far longer than 32 bytes)
    parse like any other.
    """
    try:
        number, bhash, parent, ts = obj["number"], obj["hash"], obj["parentHash"], obj["timestamp"]
        for v, name in ((bhash, "hash"), (parent, "parentHash")):
            if type(v) is not str or not _HASH.fullmatch(v):
                raise MalformedHeader(f"{name} is not a 32-byte hash")
        for v, name in ((number, "number"), (ts, "timestamp")):
            if type(v) is not str or not _QUANTITY.fullmatch(v):
                raise MalformedHeader(f"{name} is not a hex quantity")
        return BlockHeader(int(number, 16), bhash.lower(), parent.lower(), int(ts, 16))
    except MalformedHeader:
        raise
    except (KeyError, TypeError) as err:
        raise MalformedHeader(f"header structure: {type(err).__name__}: {err}") from None
