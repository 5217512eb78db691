"""What the market book keeps and hands out: per pool its live record, per block the undo
entry and the commit the store writes, a rollback's result, snapshots of pools detached from
the live objects, and the book's counters. Plain data: the book (``market.book``) makes them."""

from __future__ import annotations

from dataclasses import dataclass, field

from edge_node.chain.events import BlockHeader, SwapV2Event, SwapV3Event
from edge_node.market.candles import Candle
from edge_node.market.pools import PoolInfo, PoolState, PriceScale

# A swap as the store needs it: the event, the pool's mid price after it (quote per base,
# None before the pool has reserves), and its base and quote volumes in human units. A plain
# tuple: one is made per swap on the hot path, and the store writer unpacks it off that path.
SwapRecord = tuple[SwapV2Event | SwapV3Event, float | None, float, float]


@dataclass(slots=True)
class PoolRecord:
    info: PoolInfo
    scale: PriceScale
    state: PoolState
    candles: list[Candle | None]  # the current candle per interval (same order as intervals)


# Per touched pool: its state and current candles before the block.
UndoEntry = tuple[PoolState, list[Candle | None]]


@dataclass(slots=True)
class AppliedBlock:
    header: BlockHeader
    undo: dict[str, UndoEntry]


@dataclass(slots=True)
class PoolSnapshot:
    """A pool's state and current candles at one moment, detached from the live objects."""

    state: PoolState
    candles: list[Candle | None]


@dataclass(slots=True)
class BlockCommit:
    """Everything the store must write for one applied block, detached from live state."""

    header: BlockHeader
    swaps: list[SwapRecord]
    pools: dict[str, PoolSnapshot]
    undo: dict[str, UndoEntry]
    events: int
    verified: bool  # False for blocks applied from a deep eth_getLogs range (no header chain)


@dataclass(slots=True)
class Rollback:
    """The result of rolling back to ``header``: the restored state of every touched pool."""

    header: BlockHeader
    blocks_removed: int
    pools: dict[str, PoolSnapshot] = field(default_factory=dict)


@dataclass(slots=True)
class BookCounters:
    swaps: int = 0
    price_updates: int = 0
    # Chain timestamp of the last block that changed a pool's price: the age of the last price
    # update (seed 000: stale above 300 s) is measured from it, by the node and by the probe.
    last_price_update_time: int | None = None
    liquidity_events: int = 0
    unknown_pool_events: int = 0
    blocks: int = 0
