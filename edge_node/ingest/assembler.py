"""Assembling confirmed blocks from subscription logs without decoding anything twice. No I/O.

The logs subscription is the fast path: each log is decoded the moment it arrives, fed to the
live overlay (where trading decisions look), and kept here under its block hash. When the
follower confirms a block with ``eth_getLogs`` by hash, the answer is the authoritative list of
the block's logs; every log the subscription already delivered is taken from here by its
``(block hash, log index)`` key instead of being decoded again, and only logs the subscription
missed are decoded from the answer. Blocks never confirmed (orphaned by a reorg) are pruned.

A malformed log on the subscription is counted and dropped (the confirmation fetches the block
anyway). A malformed log in a confirmation answer is not skipped, since that would lose it for
good: the whole answer is refused, so the follower asks again or fails over to another
endpoint.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from edge_node.chain.decode import MalformedLog, decode_log
from edge_node.chain.events import BlockHeader, PoolEvent, SwapV3Event, SyncEvent
from edge_node.chain.wire import RawLog
from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

# Subscription logs kept for blocks not yet confirmed, at most this many blocks' worth.
MAX_PENDING_BLOCKS = 256


class InconsistentBlock(Exception):
    """An eth_getLogs answer holds a log of another block: the chain moved; fetch again."""


class BlockAssembler:
    def __init__(
        self,
        metrics: Metrics,
        on_state_event: Callable[[SyncEvent | SwapV3Event], object] | None = None,
        on_removed: Callable[[PoolEvent], None] | None = None,
    ) -> None:
        self.metrics = metrics
        # Gets the events that change a pool's state (V2 Sync, V3 Swap) as they arrive; V2
        # swaps carry no state (their Sync does) and only reach the book.
        self.on_state_event = on_state_event
        self.on_removed = on_removed
        # Block hash -> log index as sent (hex text: no int() needed to look it up) -> event.
        self.pending: dict[str, dict[str, PoolEvent]] = {}
        self.received = 0
        self.reused = 0
        self.decoded = 0

    # --- the subscription side ------------------------------------------------------------------

    def on_log(self, raw: RawLog) -> None:
        """Handler of the logs subscription (runs in the websocket reader, synchronously)."""
        self.received += 1
        try:
            ev = decode_log(raw)
        except MalformedLog as err:
            self.metrics.market_data_error("malformed_log")
            log.warning("dropped a malformed subscription log: %s", err)
            return
        if ev is None:
            return
        if ev.removed:
            self.pending.get(ev.block_hash, {}).pop(raw.log_index, None)
            if self.on_removed is not None:
                self.on_removed(ev)
            return
        block = self.pending.get(ev.block_hash)
        if block is None:
            if len(self.pending) >= MAX_PENDING_BLOCKS:
                self.prune(keep=MAX_PENDING_BLOCKS // 2)
            block = self.pending[ev.block_hash] = {}
        block[raw.log_index] = ev
        if self.on_state_event is not None and isinstance(ev, SyncEvent | SwapV3Event):
            self.on_state_event(ev)

    # --- the confirmation side ------------------------------------------------------------------

    def take(self, header: BlockHeader, logs: list[RawLog]) -> list[PoolEvent]:
        """The block's events, given its eth_getLogs answer (the complete list of its logs).

        Raises MalformedLog if the answer holds a log that cannot be decoded, and
        InconsistentBlock if it holds a log of another block.
        """
        cached = self.pending.pop(header.hash, None) or {}
        events: list[PoolEvent] = []
        block_hash = header.hash
        for raw in logs:
            ev: PoolEvent | None = None
            if cached and raw.block_hash == block_hash:
                ev = cached.get(raw.log_index)
            if ev is not None:
                self.reused += 1
            else:
                try:
                    ev = decode_log(raw)
                except MalformedLog:
                    self.metrics.market_data_error("malformed_log")
                    raise
                if ev is None or ev.removed:
                    continue
                self.decoded += 1
                if ev.block_hash != block_hash or ev.block_number != header.number:
                    raise InconsistentBlock(
                        f"log of block {ev.block_hash[:10]} in the answer for {block_hash[:10]}"
                    )
            events.append(ev)
        return events

    def prune(self, keep: int = 0, below: int | None = None) -> None:
        """Forget subscription logs of blocks that will not be confirmed."""
        if below is not None:
            for h in [h for h, evs in self.pending.items() if _number(evs) <= below]:
                del self.pending[h]
        while len(self.pending) > keep:
            del self.pending[next(iter(self.pending))]

    def clear(self) -> None:
        self.pending.clear()

    def latest_state(self, pool: str, after: tuple[int, int]) -> SyncEvent | SwapV3Event | None:
        """The pool's newest state event received but not yet confirmed, if newer than
        ``after`` (block, log index). Looked up on demand (API, display): scanning the few
        pending blocks is cheaper than keeping a live view up to date on every log."""
        best: SyncEvent | SwapV3Event | None = None
        for events in self.pending.values():
            for ev in events.values():
                if ev.pool == pool and isinstance(ev, SyncEvent | SwapV3Event):
                    pos = (ev.block_number, ev.log_index)
                    if pos > after and (best is None or pos > (best.block_number, best.log_index)):
                        best = ev
        return best


def _number(events: dict[str, PoolEvent]) -> int:
    for ev in events.values():
        return ev.block_number
    return -1
