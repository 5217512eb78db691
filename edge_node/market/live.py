"""Pool state as of the newest logs seen on the subscription, ahead of block confirmation.

The book only moves when a whole block is confirmed; that is what makes it exact. But a trade
decision cannot wait for it: the logs subscription delivers a pool's new reserves the moment the
node has them. This overlay holds, per pool, the newest state seen that way, newer than the
book's. It is dropped as soon as the book catches up with it, and entirely on a rollback.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_node.chain.events import PoolEvent, SwapV3Event, SyncEvent
from edge_node.market.book import MarketBook


@dataclass(slots=True)
class LiveState:
    block: int
    log_index: int
    reserve0: int
    reserve1: int
    sqrt_price_x96: int
    price: float | None


class LiveOverlay:
    def __init__(self, book: MarketBook) -> None:
        self.book = book
        self.pools: dict[str, LiveState] = {}
        self.events = 0

    def apply(self, ev: PoolEvent) -> LiveState | None:
        """Take in one live event; returns the pool's new live state if it changed."""
        rec = self.book.pools.get(ev.pool)
        if rec is None:
            return None
        self.events += 1
        pos = (ev.block_number, ev.log_index)
        cur = self.pools.get(ev.pool)
        if cur is not None and pos <= (cur.block, cur.log_index):
            return None
        if pos <= (rec.state.block, rec.state.log_index):
            return None  # the book already has this or newer
        if type(ev) is SyncEvent:
            live = LiveState(
                ev.block_number,
                ev.log_index,
                ev.reserve0,
                ev.reserve1,
                0,
                rec.scale.from_reserves(ev.reserve0, ev.reserve1),
            )
        elif type(ev) is SwapV3Event:
            live = LiveState(
                ev.block_number,
                ev.log_index,
                0,
                0,
                ev.sqrt_price_x96,
                rec.scale.from_sqrt_price(ev.sqrt_price_x96),
            )
        else:
            return None
        self.pools[ev.pool] = live
        return live

    def price(self, pool: str) -> float | None:
        live = self.pools.get(pool)
        if live is not None:
            return live.price
        return self.book.price(pool)

    def reserves(self, pool: str) -> tuple[int, int]:
        live = self.pools.get(pool)
        if live is not None and live.sqrt_price_x96 == 0:
            return live.reserve0, live.reserve1
        state = self.book.pools[pool].state
        return state.reserve0, state.reserve1

    def catch_up(self, head: int) -> None:
        """The book confirmed blocks up to ``head``: forget live states it now covers."""
        stale = [p for p, s in self.pools.items() if s.block <= head]
        for p in stale:
            del self.pools[p]

    def clear(self) -> None:
        self.pools.clear()
