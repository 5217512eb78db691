"""The trader: from a pool update to a signed transaction, and from there to a settled trade.

The hot path (this module) runs synchronously inside the websocket reader, straight from the
logs subscription: a Sync updates the live overlay, the strategy looks at the pair, the risk
gate checks the intent, and in live mode the transaction is signed from a pre-encoded template
(``on_state_event``). Everything after signing is asynchronous, in the layers below:

1. ``sending``: the trade and the signed bytes are committed to the journal (nothing is sent
   before), then the same bytes go to every configured endpoint;
2. ``tracking``, on every new block: a receipt settles the trade (mined or reverted); a
   transaction the endpoints forgot is rebroadcast (the same bytes); one not mined after
   ``replace_after_blocks`` is replaced by the same trade at a higher price; a nonce the chain
   used for something else is a nonce conflict (the nonces are resynced);
3. ``stopping``: an emergency stop halts signing at once (the control state is checked before
   every signature) and replaces each pending nonce with the cancelling self-transfer at a
   higher price, then reports what is still exposed;
4. ``reconcile``: at start, every journaled transaction is reconciled with the chain before the
   first new trade.

Paper mode (the default) has no key and no broadcaster: each intent is simulated with
``eth_call`` and recorded as a paper trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable
from time import perf_counter
from typing import Any

from edge_node.chain.events import SyncEvent
from edge_node.control import TradingState
from edge_node.execution.reconcile import Reconciling
from edge_node.execution.sending import trade_values
from edge_node.execution.signed_tx import SignedTx
from edge_node.execution.tracking import CANCEL_PRICE_LIMIT_FACTOR
from edge_node.market.live import StateEvent
from edge_node.risk import Refusal
from edge_node.strategy.intents import Intent

__all__ = ["CANCEL_PRICE_LIMIT_FACTOR", "Trader"]

log = logging.getLogger(__name__)

REFUSAL_AUDIT_EVERY_S = 30.0
# While the follower is more blocks than this behind the chain head it is catching up (after a
# start or an outage): the states it goes through are history, not opportunities, so the
# strategy is not asked. (One block of lag is normal: a head arrives before its logs.)
CATCHING_UP_BLOCKS = 2


class Trader(Reconciling):
    # --- the hot path ---------------------------------------------------------------------------

    def _reserves(self, pool: str) -> tuple[int, int, int, int]:
        """The freshest reserves: the newest Sync off the subscription, else the book's."""
        live = self.overlay.pools.get(pool)
        if live is not None and isinstance(live[0], SyncEvent):
            ev = live[0]
            return ev.reserve0, ev.reserve1, ev.block_number, ev.log_index
        s = self.book.pools[pool].state
        return s.reserve0, s.reserve1, s.block, s.log_index

    def data_age(self, now: float) -> float:
        head = self.book.head
        return float("inf") if head is None or not head.timestamp else now - head.timestamp

    def on_state_event(self, ev: StateEvent) -> None:
        """Handler of every Sync (and V3 Swap) off the subscription; see the module docstring."""
        t0 = perf_counter()
        if self.overlay.apply(ev) is None:
            return  # not newer than what the book or the overlay holds
        self._evaluate(ev.pool, (ev.block_number, ev.log_index), t0)

    def on_commit(self, number: int, pools: Iterable[str]) -> None:
        """A block was confirmed. The subscription may not have delivered its logs yet (anvil,
        for one, sends a block's head before its logs), so every pool whose confirmed state is
        newer than the state last evaluated is evaluated now: no opportunity depends on which
        of the two paths came first, and none is evaluated twice."""
        t0 = perf_counter()
        self.overlay.catch_up(number)
        head = self.metrics.chain_head
        if head is not None and number < head:
            # A block from the past (catching up after a start or an outage): its states are
            # history. The pools it changed are looked at once the newest block is in.
            self._deferred.update(pools)
        else:
            if self._deferred:
                pools = self._deferred.union(pools)
                self._deferred.clear()
            for pool in pools:
                state = self.book.pools[pool].state
                self._evaluate(pool, (state.block, state.log_index), t0)
        self.on_block(number)

    def _evaluate(self, pool: str, position: tuple[int, int], t0: float) -> None:
        if position <= self._evaluated.get(pool, (-1, -1)):
            return
        self._evaluated[pool] = position
        if not self.ready or self.trading_state is not TradingState.RUNNING:
            return
        if self.metrics.head_lag_blocks > CATCHING_UP_BLOCKS:
            return
        g = self.gauges
        try:
            intents = self.strategy.on_update(pool, self._reserves, g.gas_price, g.capital)
        except Exception as err:
            self._trading_error("strategy", err)
            return
        for intent in intents:
            self.consider(intent, time.time(), t0)

    def consider(self, intent: Intent, now: float, t0: float | None = None) -> SignedTx | None:
        """Risk-check one intent and act on it; returns the signed transaction in live mode.
        ``t0``: when the update that triggered it arrived (``perf_counter``), for the latency
        histogram."""
        if intent.pair in self.in_flight:
            return None  # one trade per pair at a time: the next one sees its effect
        g = self.gauges
        try:
            refusal = self.risk.check(
                intent,
                gas_price=g.gas_price,
                gas_balance=g.gas_balance,
                data_age_s=self.data_age(now),
                now=now,
            )
        except Exception as err:
            self._trading_error("risk", err)
            return None
        if refusal is not None:
            self._refused(intent, refusal, now)
            return None
        if self.signer is None:
            self.in_flight[intent.pair] = -1
            self._spawn(self._simulate(intent))
            return None
        if self.trading_state is not TradingState.RUNNING:
            return None  # checked again right before signing: a stop wins every race
        # Allocation and signing succeed or fail together: a nonce taken by a signature that
        # failed would be a hole every later transaction waits behind.
        nonce = self.nonces.allocate()
        try:
            signed = self.sign(intent, nonce)
        except Exception as err:
            self.nonces.release(nonce)
            self._trading_error("sign", err)
            return None
        if t0 is None:
            t0, signed_s = perf_counter(), 0.0
        else:
            signed_s = perf_counter() - t0
            self.metrics.observe_trade_latency("signed", signed_s)
        logged, logged_s = None, 0.0
        if self.send_log is not None:
            # Durable before the broadcast, here and now (one write, one fdatasync): no hop
            # through the event loop or the journal thread on the way to the endpoints.
            logged = self._trade_record(intent, signed)
            try:
                self.send_log.signed(logged)
            except Exception as err:
                self.nonces.release(nonce)  # not journaled, so never sent: given back
                self.counters.failure("journal")
                self._trading_error("journal", err)
                return None
            logged_s = perf_counter() - t0
        self.in_flight[intent.pair] = nonce
        self.counters.signed += 1
        self._spawn(self._submit(intent, signed, t0, signed_s, logged, logged_s))
        return signed

    def _refused(self, intent: Intent, refusal: Refusal, now: float) -> None:
        self.metrics.risk_refusal(refusal.limit)
        self.counters.status(self.mode, "refused")
        values = trade_values(intent, self.mode, "refused")
        values["detail"] = json.dumps({"limit": refusal.limit, "detail": refusal.detail})
        self._spawn(self._record_refused(values))
        if refusal.pause:
            self.control_service.pause_now("risk", refusal.detail)
        # Every refusal is counted; the audit log gets one entry per limit per interval, with
        # the count, so a persistent condition does not flood it.
        last = self._refusal_audit.get(refusal.limit, 0.0)
        if now - last >= REFUSAL_AUDIT_EVERY_S or refusal.pause:
            self._refusal_audit[refusal.limit] = now
            self.audit(
                "risk_refusal",
                {
                    "limit": refusal.limit,
                    "detail": refusal.detail,
                    "pair": intent.pair,
                    "amount_in": str(intent.amount_in),
                    "refusals_so_far": self.risk.refusals.get(refusal.limit, 0),
                },
            )

    def on_rollback(self, number: int) -> None:
        """The node rolled back to block ``number``: what was seen of later blocks is gone.
        The live overlay holds states of orphaned blocks (trades must not be sized on them),
        and the evaluation marks of pools past ``number`` would hide the canonical states
        until the chain passed the old height; the trades of removed blocks are pending again.
        """
        self.overlay.clear()
        for pool, position in list(self._evaluated.items()):
            if position[0] > number:
                del self._evaluated[pool]
        self._deferred.clear()
        self.on_reorg(number)

    async def _record_refused(self, values: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._io_side, self.journal.insert_refused, values)
        except Exception as err:
            self._trading_error("journal", err)

    # --- the end --------------------------------------------------------------------------------

    async def discard(self) -> None:
        """Throw away a trader that never became ready (its reconcile failed): its tasks and
        its journal thread; the broadcaster is the desk's and stays open."""
        for task in list(self._tasks):
            task.cancel()
        self._io.shutdown(wait=False)
        self._io_side.shutdown(wait=False)
        self.journal.close()
        if self.send_log is not None:
            self.send_log.close()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.broadcaster is not None:
            await self.broadcaster.close()
        # The journal thread may be in the middle of a commit: waited for off the event loop.
        await asyncio.to_thread(self._io.shutdown, wait=True)
        await asyncio.to_thread(self._io_side.shutdown, wait=True)
        await asyncio.to_thread(self.journal.close)
        if self.send_log is not None:
            self.send_log.close()
