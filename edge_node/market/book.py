"""The market book: pool state and candles, advanced one whole block at a time, with undo.

This is the logic core of the listening loop; it does no I/O. The follower hands it complete
blocks (a header and every followed log of that block, in any order) strictly in chain order.
For each block the book records an undo entry: the state of every pool the block touched, and
that pool's current candles, as they were before the block. Rolling back a reorg pops blocks
off the top and restores those entries, so pool state and candles return exactly to what they
were at the common ancestor. Undo entries are kept for the last ``window`` blocks, and are also
persisted with each block (see ``edge_node.store``), so a reorg that happens while the node is
down is rolled back on restart the same way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter

from edge_node.chain.events import (
    BlockHeader,
    LiquidityEvent,
    PoolEvent,
    SwapV2Event,
    SwapV3Event,
    SyncEvent,
)
from edge_node.market.candles import Candle, bucket_start
from edge_node.market.pools import PoolInfo, PoolState, PriceScale


class NotContiguous(Exception):
    """The block does not extend the book's head: the follower must look for a reorg."""


class ReorgTooDeep(Exception):
    """A reorg reaches below the undo window; state cannot be rolled back automatically."""


@dataclass(slots=True)
class SwapRecord:
    pool: str
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    block_time: int
    sender: str
    recipient: str
    amount0_in: int
    amount1_in: int
    amount0_out: int
    amount1_out: int
    price: float | None
    volume_base: float
    volume_quote: float


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
    liquidity_events: int = 0
    unknown_pool_events: int = 0
    blocks: int = 0


def _snapshot(rec: PoolRecord) -> PoolSnapshot:
    # Safe without copying: objects are copied before they change (copy-on-write per block).
    return PoolSnapshot(rec.state, list(rec.candles))


class MarketBook:
    def __init__(
        self, pools: Iterable[PoolInfo], intervals: Iterable[int], window: int = 64
    ) -> None:
        self.intervals = list(intervals)
        self.window = window
        self.pools: dict[str, PoolRecord] = {
            p.address: PoolRecord(p, PriceScale(p), PoolState(), [None] * len(self.intervals))
            for p in pools
        }
        self.recent: deque[AppliedBlock] = deque()
        self.head: BlockHeader | None = None
        self.counters = BookCounters()

    # --- queries -------------------------------------------------------------------------------

    def hash_at(self, number: int) -> str | None:
        """Hash of the processed block at ``number`` if it is still in the undo window."""
        if not self.recent:
            return None
        first = self.recent[0].header.number
        i = number - first
        if 0 <= i < len(self.recent):
            h = self.recent[i].header
            if h.number == number:
                return h.hash
        # Blocks from deep ranges can leave gaps; fall back to a scan (rare, window-sized).
        for b in self.recent:
            if b.header.number == number:
                return b.header.hash
        return None

    def oldest_rollback_target(self) -> int | None:
        """The lowest block number this book can roll back to (the oldest block it holds)."""
        if not self.recent:
            return self.head.number if self.head else None
        return self.recent[0].header.number

    def price(self, address: str) -> float | None:
        rec = self.pools.get(address)
        return rec.state.price if rec else None

    # --- applying blocks -----------------------------------------------------------------------

    def apply_block(
        self, header: BlockHeader, events: Iterable[PoolEvent], *, verified: bool = True
    ) -> BlockCommit:
        """Apply every followed event of one block, in log order.

        ``verified`` blocks must extend the head (parent hash check). Blocks from a deep
        eth_getLogs range are applied unverified: their headers are not all fetched, and the
        range is older than the reorg window.
        """
        head = self.head
        if head is not None:
            if header.number <= head.number:
                raise NotContiguous(f"block {header.number} is not above head {head.number}")
            if verified and (header.number != head.number + 1 or header.parent_hash != head.hash):
                raise NotContiguous(
                    f"block {header.number} ({header.hash[:10]}) does not extend head "
                    f"{head.number} ({head.hash[:10]})"
                )
        ordered = sorted(events, key=_LOG_INDEX)
        undo: dict[str, UndoEntry] = {}
        swaps: list[SwapRecord] = []
        counters = self.counters
        ts = header.timestamp
        last_index = -1
        for ev in ordered:
            if ev.block_hash != header.hash:
                raise ValueError(f"event of block {ev.block_hash} given for block {header.hash}")
            if ev.log_index == last_index:
                continue  # the same log from two sources
            last_index = ev.log_index
            rec = self.pools.get(ev.pool)
            if rec is None:
                counters.unknown_pool_events += 1
                continue
            if ev.pool not in undo:
                # Copy-on-write: the objects as they were stay untouched in the undo entry
                # (and in earlier commits); this block works on fresh copies.
                undo[ev.pool] = (rec.state, list(rec.candles))
                rec.state = rec.state.copy()
            state = rec.state
            if type(ev) is SyncEvent:
                state.reserve0 = ev.reserve0
                state.reserve1 = ev.reserve1
                price = rec.scale.from_reserves(ev.reserve0, ev.reserve1)
                if price != state.price:
                    state.price = price
                    counters.price_updates += 1
            elif type(ev) is SwapV2Event:
                vb, vq = rec.scale.volumes(
                    ev.amount0_in + ev.amount0_out, ev.amount1_in + ev.amount1_out
                )
                swaps.append(
                    SwapRecord(
                        ev.pool,
                        ev.block_number,
                        ev.block_hash,
                        ev.log_index,
                        ev.tx_hash,
                        ts,
                        ev.sender,
                        ev.recipient,
                        ev.amount0_in,
                        ev.amount1_in,
                        ev.amount0_out,
                        ev.amount1_out,
                        state.price,
                        vb,
                        vq,
                    )
                )
                if state.price is not None:
                    self._add_to_candles(rec, ts, state.price, vb, vq, header.number)
                counters.swaps += 1
            elif type(ev) is SwapV3Event:
                state.sqrt_price_x96 = ev.sqrt_price_x96
                state.liquidity = ev.liquidity
                state.tick = ev.tick
                price = rec.scale.from_sqrt_price(ev.sqrt_price_x96)
                if price != state.price:
                    state.price = price
                    counters.price_updates += 1
                a0, a1 = ev.amount0, ev.amount1
                vb, vq = rec.scale.volumes(abs(a0), abs(a1))
                swaps.append(
                    SwapRecord(
                        ev.pool,
                        ev.block_number,
                        ev.block_hash,
                        ev.log_index,
                        ev.tx_hash,
                        ts,
                        ev.sender,
                        ev.recipient,
                        a0 if a0 > 0 else 0,
                        a1 if a1 > 0 else 0,
                        -a0 if a0 < 0 else 0,
                        -a1 if a1 < 0 else 0,
                        price,
                        vb,
                        vq,
                    )
                )
                if price is not None:
                    self._add_to_candles(rec, ts, price, vb, vq, header.number)
                counters.swaps += 1
            else:
                assert isinstance(ev, LiquidityEvent)
                counters.liquidity_events += 1
            state.block = ev.block_number
            state.log_index = ev.log_index
        self.recent.append(AppliedBlock(header, undo))
        while len(self.recent) > self.window:
            self.recent.popleft()
        self.head = header
        counters.blocks += 1
        # No copies needed: the next block copies an object before changing it.
        pools = self.pools
        return BlockCommit(
            header,
            swaps,
            {a: PoolSnapshot(pools[a].state, list(pools[a].candles)) for a in undo},
            undo,
            len(ordered),
            verified,
        )

    def _add_to_candles(
        self, rec: PoolRecord, ts: int, price: float, vb: float, vq: float, block: int
    ) -> None:
        candles = rec.candles
        for i, seconds in enumerate(self.intervals):
            c = candles[i]
            start = ts - ts % seconds
            if c is None or c.open_time < start:
                candles[i] = Candle(
                    start, seconds, price, price, price, price, vb, vq, 1, block, block
                )
            else:
                if c.last_block != block:
                    # Copy-on-write, see apply_block. (A timestamp earlier than the current
                    # bucket, which chains do not produce, lands here too: it is counted in
                    # the current candle.)
                    c = c.copy()
                    candles[i] = c
                # Candle.add, inlined: this runs for every swap and every interval.
                if price > c.high:
                    c.high = price
                elif price < c.low:
                    c.low = price
                c.close = price
                c.volume_base += vb
                c.volume_quote += vq
                c.trades += 1
                c.last_block = block

    # --- reorgs --------------------------------------------------------------------------------

    def rollback_to(self, number: int) -> Rollback:
        """Undo every block above ``number``; returns what the store must restore.

        The new head is the highest block held at or below ``number``: blocks applied from a
        deep range leave gaps (blocks without followed events), and a gap block's state is the
        same as the block below it. The follower then syncs forward from the new head.
        """
        head = self.head
        if head is None or number >= head.number:
            raise ValueError(f"nothing to roll back to {number} (head {head and head.number})")
        oldest = self.oldest_rollback_target()
        if oldest is None or number < oldest:
            raise ReorgTooDeep(
                f"reorg to block {number} is below the undo window (oldest {oldest}); "
                "raise chain.reorg_window or rebuild the store"
            )
        touched: set[str] = set()
        removed = 0
        while self.recent[-1].header.number > number:
            block = self.recent.pop()
            for address, (state, candles) in block.undo.items():
                rec = self.pools[address]
                rec.state = state
                rec.candles = candles
                touched.add(address)
            removed += 1
        self.head = self.recent[-1].header
        return Rollback(self.head, removed, {a: _snapshot(self.pools[a]) for a in touched})

    # --- restoring from the store --------------------------------------------------------------

    def restore(
        self,
        head: BlockHeader,
        pools: dict[str, PoolSnapshot],
        recent: Iterable[AppliedBlock],
    ) -> None:
        """Load the state persisted at ``head`` (pool states, current candles, undo window)."""
        for address, snap in pools.items():
            rec = self.pools.get(address)
            if rec is not None:
                rec.state = snap.state
                rec.candles = list(snap.candles)
        self.recent = deque(sorted(recent, key=lambda b: b.header.number))
        while len(self.recent) > self.window:
            self.recent.popleft()
        self.head = head

    def snapshot(self) -> dict[str, PoolSnapshot]:
        return {a: _snapshot(rec) for a, rec in self.pools.items()}


_LOG_INDEX = attrgetter("log_index")


__all__ = [
    "AppliedBlock",
    "BlockCommit",
    "MarketBook",
    "NotContiguous",
    "PoolSnapshot",
    "ReorgTooDeep",
    "Rollback",
    "SwapRecord",
    "bucket_start",
]
