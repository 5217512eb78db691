"""Assembling confirmed blocks from subscription logs without decoding anything twice. No I/O.

The logs subscription is the fast path: each log is decoded the moment it arrives, fed to the
live overlay (where trading decisions look), and kept here under its block hash. When the
follower confirms a block with ``eth_getLogs`` by hash, the answer is the authoritative list of
the block's logs; every log the subscription already delivered is taken from here by its
``(block hash, log index)`` key instead of being decoded again, and only logs the subscription
missed are decoded from the answer. Blocks never confirmed (orphaned by a reorg) are pruned:
as soon as another block is confirmed at their height, or later by age.

The subscription also checks the answer: a log it delivered for the block (and that was not
withdrawn with ``removed``) must be in the answer, or the answer is refused as inconsistent. A
backend that has not indexed the block yet answers ``[]``, and that must not be applied as a
block without events.

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
# Answers refused for lacking a block's subscription logs before the answer is believed: the
# check must not stop the node for good if the subscription itself was wrong (about three
# endpoint sessions' worth of the follower's retries).
MAX_REFUSALS = 20


class InconsistentBlock(Exception):
    """An eth_getLogs answer does not match the block: it holds a log of another block, or
    lacks one the subscription delivered. The chain moved or the backend lags; fetch again."""


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
        # Height -> hash of the blocks confirmed lately, up to ``confirmed_head``: what the
        # subscription's logs at those heights must match to be worth anything.
        self.confirmed: dict[int, str] = {}
        self.confirmed_head = -1
        # Block hash -> answers refused so far for lacking that block's subscription logs.
        self.refusals: dict[str, int] = {}
        self.received = 0
        self.orphaned = 0  # late logs of blocks that lost to a confirmed one, dropped
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
        n = ev.block_number
        if n <= self.confirmed_head and self.confirmed.get(n) != ev.block_hash:
            # A late log of a block that lost at a height already confirmed (nodes do not
            # always send ``removed`` for them; anvil never does): not market data any more.
            self.orphaned += 1
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
        InconsistentBlock if it holds a log of another block or lacks one the subscription
        delivered for this block. A refused answer leaves the subscription's logs in place, so
        the next answer is checked against them too.
        """
        block_hash, number = header.hash, header.number
        cached = self.pending.get(block_hash)
        events: list[PoolEvent] = []
        reused = 0
        for raw in logs:
            ev: PoolEvent | None = None
            if cached and raw.block_hash == block_hash:
                ev = cached.get(raw.log_index)
            if ev is not None:
                if ev.block_number != number or ev.block_hash != block_hash:
                    # The subscription and the header disagree; the answer alone decides.
                    del self.pending[block_hash]
                    raise InconsistentBlock(
                        f"subscription log of block {ev.block_number} under hash "
                        f"{block_hash[:10]} of block {number}"
                    )
                reused += 1
            else:
                try:
                    ev = decode_log(raw)
                except MalformedLog:
                    self.metrics.market_data_error("malformed_log")
                    raise
                if ev is None or ev.removed:
                    continue
                self.decoded += 1
                if ev.block_hash != block_hash or ev.block_number != number:
                    raise InconsistentBlock(
                        f"log of block {ev.block_hash[:10]} in the answer for {block_hash[:10]}"
                    )
            events.append(ev)
        if cached and reused < len(cached):
            self._check_complete(header, cached, events)
        self.reused += reused
        self.pending.pop(block_hash, None)
        self.refusals.pop(block_hash, None)
        self._confirm(number, block_hash)
        return events

    def _check_complete(
        self, header: BlockHeader, cached: dict[str, PoolEvent], events: list[PoolEvent]
    ) -> None:
        """Refuse an answer that lacks logs the subscription delivered for the block.

        Compared by log index as a number: the answer may spell an index differently (leading
        zeros, upper case) from the subscription, which only costs the reuse.
        """
        answered = {ev.log_index for ev in events}
        missing = sorted(ev.log_index for ev in cached.values() if ev.log_index not in answered)
        if not missing:
            return
        refused = self.refusals.get(header.hash, 0) + 1
        if refused > MAX_REFUSALS:
            log.error(
                "block %d (%s): %d answers lacked subscription logs %s; believing the answer",
                header.number,
                header.hash[:10],
                MAX_REFUSALS,
                missing,
            )
            return
        self.refusals[header.hash] = refused
        if len(self.refusals) > MAX_PENDING_BLOCKS:
            del self.refusals[next(iter(self.refusals))]
        self.metrics.market_data_error("incomplete_logs")
        raise InconsistentBlock(
            f"the answer for block {header.number} ({header.hash[:10]}) lacks the "
            f"subscription's logs {missing[:5]}"
        )

    def _confirm(self, number: int, block_hash: str) -> None:
        """Record a confirmed block; drop the subscription's logs of blocks it outcompeted.

        A fork's blocks stay in ``pending`` otherwise until pruned by age (nodes do not always
        send ``removed`` logs for them; anvil never does), and the live price would be read
        from them.
        """
        if number <= self.confirmed_head:
            # Confirmed again lower down (after a rollback): what was above is superseded.
            for n in [n for n in self.confirmed if n > number]:
                del self.confirmed[n]
        confirmed = self.confirmed
        confirmed[number] = block_hash
        self.confirmed_head = number
        while len(confirmed) > MAX_PENDING_BLOCKS:  # heights were inserted in ascending order
            del confirmed[next(iter(confirmed))]
        stale = [
            h
            for h, evs in self.pending.items()
            if (n := _number(evs)) <= number and confirmed.get(n) != h
        ]
        for h in stale:
            del self.pending[h]

    def prune(self, keep: int = 0, below: int | None = None) -> None:
        """Forget subscription logs of blocks that will not be confirmed."""
        if below is not None:
            for h in [h for h, evs in self.pending.items() if _number(evs) <= below]:
                del self.pending[h]
        while len(self.pending) > keep:
            del self.pending[next(iter(self.pending))]

    def clear(self) -> None:
        self.pending.clear()
        self.confirmed.clear()
        self.confirmed_head = -1
        self.refusals.clear()

    def latest_state(self, pool: str, after: tuple[int, int]) -> SyncEvent | SwapV3Event | None:
        """The pool's newest state event received but not yet confirmed, if newer than
        ``after`` (block, log index). Looked up on demand (API, display): scanning the few
        pending blocks is cheaper than keeping a live view up to date on every log.

        Never a log of a block at or below the confirmed head other than the confirmed one:
        that block lost to the confirmed one (a late log of a fork)."""
        best: SyncEvent | SwapV3Event | None = None
        head, confirmed = self.confirmed_head, self.confirmed
        for events in self.pending.values():
            for ev in events.values():
                if ev.pool == pool and isinstance(ev, SyncEvent | SwapV3Event):
                    n = ev.block_number
                    if n <= head and confirmed.get(n) != ev.block_hash:
                        continue
                    pos = (n, ev.log_index)
                    if pos > after and (best is None or pos > (best.block_number, best.log_index)):
                        best = ev
        return best


def _number(events: dict[str, PoolEvent]) -> int:
    for ev in events.values():
        return ev.block_number
    return -1
