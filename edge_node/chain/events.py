"""Decoded pool events and block headers, as plain values.

Every event carries where it came from: the block (number and hash) and its index in the block,
which together identify it on the chain. ``(block_hash, log_index)`` is the idempotency key:
the same log seen twice (from the subscription and from eth_getLogs) is one event.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class SyncEvent:
    """V2 ``Sync``: the pool's reserves after the transaction step that emitted it."""

    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    reserve0: int
    reserve1: int


@dataclass(slots=True)
class SwapV2Event:
    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    sender: str
    recipient: str
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int


@dataclass(slots=True)
class SwapV3Event:
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
    sender: str
    recipient: str
    amount0: int
    amount1: int
    sqrt_price_x96: int
    liquidity: int
    tick: int


@dataclass(slots=True)
class LiquidityEvent:
    """V2 ``Mint`` or ``Burn``. Reserves change through the ``Sync`` that accompanies it."""

    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    removed: bool
    kind: str  # "mint" or "burn"
    sender: str
    amount0: int
    amount1: int


PoolEvent = SyncEvent | SwapV2Event | SwapV3Event | LiquidityEvent
SwapEvent = SwapV2Event | SwapV3Event


@dataclass(frozen=True, slots=True)
class BlockHeader:
    number: int
    hash: str
    parent_hash: str
    timestamp: int


def event_key(ev: PoolEvent) -> tuple[str, int]:
    return (ev.block_hash, ev.log_index)
