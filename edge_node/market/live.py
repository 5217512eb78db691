"""Pool state as of the newest logs seen on the subscription, ahead of block confirmation.

The book only moves when a whole block is confirmed; that is what makes it exact. But a trade
decision cannot wait for it: the logs subscription delivers a pool's new reserves the moment the
node has them. This overlay holds, per pool, the newest state-carrying event seen that way (a V2
Sync or a V3 Swap) if it is newer than the book's state, with the price it implies. It is
dropped as soon as the book catches up with it, and entirely on a rollback.
"""

from __future__ import annotations

from edge_node.chain.events import SwapV3Event, SyncEvent
from edge_node.market.book import MarketBook

StateEvent = SyncEvent | SwapV3Event


class LiveOverlay:
    def __init__(self, book: MarketBook) -> None:
        self.book = book
        # pool -> (its newest state event from the subscription, the price it implies)
        self.pools: dict[str, tuple[StateEvent, float | None]] = {}

    def apply(self, ev: StateEvent) -> float | None:
        """Take in one state event; returns the pool's new live price if the event is newer
        than what the book and the overlay hold, else None. Runs for every Sync on the
        subscription: the event itself is kept, nothing new is allocated but a pair."""
        rec = self.book.pools.get(ev.pool)
        if rec is None:
            return None
        number, index = ev.block_number, ev.log_index
        cur = self.pools.get(ev.pool)
        if cur is not None:
            seen = cur[0]
            if number < seen.block_number or (
                number == seen.block_number and index <= seen.log_index
            ):
                return None
        state = rec.state
        if number < state.block or (number == state.block and index <= state.log_index):
            return None  # the book already has this or newer
        if isinstance(ev, SyncEvent):
            price = rec.scale.from_reserves(ev.reserve0, ev.reserve1)
        else:
            price = rec.scale.from_sqrt_price(ev.sqrt_price_x96)
        self.pools[ev.pool] = (ev, price)
        return price

    def catch_up(self, head: int) -> None:
        """The book confirmed blocks up to ``head``: forget live states it now covers."""
        stale = [p for p, (ev, _) in self.pools.items() if ev.block_number <= head]
        for p in stale:
            del self.pools[p]

    def clear(self) -> None:
        self.pools.clear()
