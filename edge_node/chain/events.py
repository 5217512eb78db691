"""Decoded pool events and block headers, as plain values.

Every event carries where it came from: the block (number and hash) and its index in the block,
which together identify it on the chain. ``(block_hash, log_index)`` is the idempotency key:
the same log seen twice (from the subscription and from eth_getLogs) is one event.

Events are NamedTuples: immutable values with named fields, and the decoders build them with
``tuple.__new__`` in C, at less than half the cost of a dataclass ``__init__`` (one is built for
every log; see ``tests/benchmarks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class SyncEvent(NamedTuple):
    """V2 ``Sync``: the pool's reserves after the transaction step that emitted it."""

    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    reserve0: int
    reserve1: int


class SwapV2Event(NamedTuple):
    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    sender_topic: str  # the indexed topics as sent: the addresses are derived when needed
    recipient_topic: str
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int

    @property
    def sender(self) -> str:
        return topic_address(self.sender_topic)

    @property
    def recipient(self) -> str:
        return topic_address(self.recipient_topic)


class SwapV3Event(NamedTuple):
    """V3 ``Swap`` (Uniswap or PancakeSwap layout): signed amounts from the pool's side.

    A positive amount is what the pool received, a negative one what it paid out. The event
    also carries the pool's price and active liquidity after the swap.
    """

    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    sender_topic: str
    recipient_topic: str
    amount0: int
    amount1: int
    sqrt_price_x96: int
    liquidity: int
    tick: int

    @property
    def sender(self) -> str:
        return topic_address(self.sender_topic)

    @property
    def recipient(self) -> str:
        return topic_address(self.recipient_topic)


class LiquidityEvent(NamedTuple):
    """V2 ``Mint`` or ``Burn``. Reserves change through the ``Sync`` that accompanies it."""

    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    kind: str  # "mint" or "burn"
    sender_topic: str
    amount0: int
    amount1: int

    @property
    def sender(self) -> str:
        return topic_address(self.sender_topic)


PoolEvent = SyncEvent | SwapV2Event | SwapV3Event | LiquidityEvent
SwapEvent = SwapV2Event | SwapV3Event


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def topic_address(topic: str) -> str:
    """The address in an indexed topic (a 32-byte word, left-padded), lower case."""
    return "0x" + topic[26:].lower()


def event_key(ev: PoolEvent) -> tuple[str, int]:
    return (ev.block_hash, ev.log_index)
