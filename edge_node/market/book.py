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
from operator import attrgetter

from edge_node.chain.events import (
    BlockHeader,
    PoolEvent,
    SwapV2Event,
    SwapV3Event,
    SyncEvent,
)
from edge_node.market.book_records import (
    AppliedBlock,
    BlockCommit,
    BookCounters,
    PoolRecord,
    PoolSnapshot,
    Rollback,
    SwapRecord,
    UndoEntry,
)
from edge_node.market.candles import Candle
from edge_node.market.pools import PoolInfo, PoolState, PriceScale


class NotContiguous(Exception):
    """The block does not extend the book's head: the follower must look for a reorg."""


class ReorgTooDeep(Exception):
    """A reorg reaches below the undo window; state cannot be rolled back automatically."""


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

        This runs for every event, so it is written for speed (measured in
        ``tests/benchmarks``): the price maths is inlined, and candles are updated once per
        pool per block from the block's aggregate of that pool's swaps (all swaps of a block
        share its timestamp, so they fall in the same bucket of every interval).
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
        # Per pool, this block's swaps: [open, high, low, close, base vol, quote vol, count].
        aggregates: dict[str, list[float]] = {}
        swaps: list[SwapRecord] = []
        counters = self.counters
        pools = self.pools
        block_hash = header.hash
        last_index = -1
        n_swaps = n_prices = 0
        for ev in ordered:
            if ev.block_hash != block_hash:
                raise ValueError(f"event of block {ev.block_hash} given for block {block_hash}")
            if ev.log_index == last_index:
                continue  # the same log from two sources
            last_index = ev.log_index
            address = ev.pool
            rec = pools.get(address)
            if rec is None:
                counters.unknown_pool_events += 1
                continue
            if address not in undo:
                # Copy-on-write: the objects as they were stay untouched in the undo entry
                # (and in earlier commits); this block works on a fresh copy.
                undo[address] = (rec.state, list(rec.candles))
                rec.state = rec.state.copy()
                rec.state.block = header.number
            state = rec.state
            if isinstance(ev, SyncEvent):
                r0 = state.reserve0 = ev.reserve0
                r1 = state.reserve1 = ev.reserve1
                scale = rec.scale
                if r0 > 0 and r1 > 0:
                    p = r1 / r0 * scale.v2_factor
                    price: float | None = p if scale.base_is_token0 else 1.0 / p
                else:
                    price = None
                if price != state.price:
                    state.price = price
                    n_prices += 1
            elif isinstance(ev, SwapV2Event):
                scale = rec.scale
                v0 = (ev.amount0_in + ev.amount0_out) / scale.unit0
                v1 = (ev.amount1_in + ev.amount1_out) / scale.unit1
                vb, vq = (v0, v1) if scale.base_is_token0 else (v1, v0)
                price = state.price
                swaps.append((ev, price, vb, vq))
                n_swaps += 1
                if price is not None:
                    # _aggregate, inlined for the common V2 case
                    agg = aggregates.get(address)
                    if agg is None:
                        aggregates[address] = [price, price, price, price, vb, vq, 1]
                    else:
                        if price > agg[1]:
                            agg[1] = price
                        elif price < agg[2]:
                            agg[2] = price
                        agg[3] = price
                        agg[4] += vb
                        agg[5] += vq
                        agg[6] += 1
            elif isinstance(ev, SwapV3Event):
                state.sqrt_price_x96 = ev.sqrt_price_x96
                state.liquidity = ev.liquidity
                state.tick = ev.tick
                price = rec.scale.from_sqrt_price(ev.sqrt_price_x96)
                if price != state.price:
                    state.price = price
                    n_prices += 1
                vb, vq = rec.scale.volumes(abs(ev.amount0), abs(ev.amount1))
                swaps.append((ev, price, vb, vq))
                n_swaps += 1
                if price is not None:
                    _aggregate(aggregates, address, price, vb, vq)
            else:
                counters.liquidity_events += 1
            state.log_index = ev.log_index
        for address, agg in aggregates.items():
            self._merge_candles(pools[address], header.timestamp, agg, header.number)
        counters.swaps += n_swaps
        counters.price_updates += n_prices
        if n_prices:
            counters.last_price_update_time = header.timestamp
        self.recent.append(AppliedBlock(header, undo))
        while len(self.recent) > self.window:
            self.recent.popleft()
        self.head = header
        counters.blocks += 1
        # No copies needed: the next block copies an object before changing it.
        return BlockCommit(
            header,
            swaps,
            {a: PoolSnapshot(pools[a].state, list(pools[a].candles)) for a in undo},
            undo,
            len(ordered),
            verified,
        )

    def _merge_candles(self, rec: PoolRecord, ts: int, agg: list[float], block: int) -> None:
        """Fold one block's aggregate of a pool's swaps into that pool's current candles."""
        o, h, lo, c, vb, vq, n = agg
        trades = int(n)
        candles = rec.candles
        for i, seconds in enumerate(self.intervals):
            cur = candles[i]
            start = ts - ts % seconds
            if cur is None or cur.open_time < start:
                candles[i] = Candle(start, seconds, o, h, lo, c, vb, vq, trades, block, block)
                continue
            if cur.last_block != block:
                # Copy-on-write, see apply_block. (A timestamp earlier than the current
                # bucket, which chains do not produce, lands here too: it is counted in the
                # current candle.)
                cur = cur.copy()
                candles[i] = cur
            if h > cur.high:
                cur.high = h
            if lo < cur.low:
                cur.low = lo
            cur.close = c
            cur.volume_base += vb
            cur.volume_quote += vq
            cur.trades += trades
            cur.last_block = block

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
                # A copy: the undo list belongs to a commit the store writer may not have
                # written yet, and this book goes on to change its candle list in place.
                rec.candles = list(candles)
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
        self.recent = deque(
            AppliedBlock(b.header, self._fit_undo(b.undo))
            for b in sorted(recent, key=lambda b: b.header.number)
        )
        while len(self.recent) > self.window:
            self.recent.popleft()
        self.head = head

    def _fit_undo(self, undo: dict[str, UndoEntry]) -> dict[str, UndoEntry]:
        """An undo record written under another configuration, fitted to this one.

        Pools no longer followed are dropped, and candles are matched to this book's
        intervals by their length, not their position (intervals may have been added,
        removed or reordered since the record was written).
        """
        fitted: dict[str, UndoEntry] = {}
        for address, (state, candles) in undo.items():
            if address not in self.pools:
                continue
            by_seconds = {c.seconds: c for c in candles if c is not None}
            fitted[address] = (state, [by_seconds.get(s) for s in self.intervals])
        return fitted

    def snapshot(self) -> dict[str, PoolSnapshot]:
        return {a: _snapshot(rec) for a, rec in self.pools.items()}


_LOG_INDEX = attrgetter("log_index")


def _aggregate(
    aggregates: dict[str, list[float]], address: str, price: float, vb: float, vq: float
) -> None:
    agg = aggregates.get(address)
    if agg is None:
        aggregates[address] = [price, price, price, price, vb, vq, 1]
        return
    if price > agg[1]:
        agg[1] = price
    elif price < agg[2]:
        agg[2] = price
    agg[3] = price
    agg[4] += vb
    agg[5] += vq
    agg[6] += 1
