"""Sending: a trade journaled, then broadcast; replacements (speed-ups, cancels) and fills of a
nonce that must not stay a hole; and paper mode's simulation in place of all that.

Nothing is broadcast before its signed bytes are committed to the journal, so after a crash at
any point the journal knows every nonce the node may have used and the bytes it may have sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from time import perf_counter
from typing import Any

from edge_node.control import TradingState
from edge_node.execution import broadcast as bc
from edge_node.execution.base import TraderBase
from edge_node.execution.nonces import NonceGap
from edge_node.execution.signed_tx import SignedTx
from edge_node.execution.state import PendingNonce, SentTx
from edge_node.execution.txbuild import Fees
from edge_node.rpc.errors import EndpointUnavailable, ResponseInvalid, RpcError
from edge_node.strategy.intents import Intent

log = logging.getLogger(__name__)

FAULT_ENV = "EDGE_NODE_FAULT"  # test-only crash points: crash_after_journal, crash_after_broadcast


def _fault(point: str) -> None:
    """A crash on purpose, for the fault tests: the process SIGKILLs itself between two
    steps, so nothing (no finally, no flush) runs after this point."""
    if os.environ.get(FAULT_ENV) == point:
        log.critical("fault injection: SIGKILL at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)


def trade_values(intent: Intent, mode: str, status: str) -> dict[str, Any]:
    """The trade row for ``intent``."""
    return {
        "mode": mode,
        "strategy": intent.strategy,
        "pool_buy": intent.pool_buy,
        "pool_sell": intent.pool_sell,
        "token_in": intent.token_in,
        "amount_in": intent.amount_in,
        "expected_profit": intent.expected_profit,
        "min_profit": intent.min_profit,
        "gas_limit": intent.gas_limit,
        "gas_price": intent.gas_price,
        "status": status,
        "trigger_block": intent.trigger_block,
        "trigger_log_index": intent.trigger_log_index,
        "detail": json.dumps({"expected_net": str(intent.expected_net)}),
    }


class Sending(TraderBase):
    # --- paper mode -----------------------------------------------------------------------------

    async def _simulate(self, intent: Intent) -> None:
        try:
            trade_id = await self._db(
                self.journal.insert_trade, trade_values(intent, "paper", "intended")
            )
            rpc = self.rpc()
            if rpc is None:
                await self._db(
                    self.journal.update_trade,
                    trade_id,
                    status="simulation_failed",
                    detail=json.dumps({"error": "no endpoint connected"}),
                )
                return
            call = {
                "from": self.owner,
                "to": self.executor,
                "data": "0x" + self.calldata(intent).hex(),
                "gas": hex(intent.gas_limit),
            }
            try:
                result = await rpc.request("eth_call", [call, "latest"])
                profit = int(result, 16)
                status, detail = "simulated", {"simulated_profit": str(profit)}
            except RpcError as err:
                profit, status = 0, "simulation_failed"
                detail = {"revert": err.message[:300]}
            await self._db(
                self.journal.update_trade,
                trade_id,
                status=status,
                profit=profit,
                gas_cost=intent.gas_cost,
                detail=json.dumps(detail),
            )
            self.counters.status("paper", status)
        except (EndpointUnavailable, ResponseInvalid) as err:
            log.info("paper simulation failed: %s", err)
        finally:
            self.in_flight.pop(intent.pair, None)

    # --- live: journal, broadcast ---------------------------------------------------------------

    def _trade_record(self, intent: Intent, signed: SignedTx) -> dict[str, Any]:
        """The journal record (``Journal.record``'s arguments) of a trade's transaction."""
        return {
            "nonce": signed.nonce,
            "tx_hash": signed.hash_hex,
            "raw_tx": signed.raw_hex,
            "kind": "trade",
            "gas_price": intent.gas_price,
            "priority_fee": self._fees(intent.gas_price)[1],
            "trade": trade_values(intent, "live", "submitted"),
        }

    async def _submit(
        self,
        intent: Intent,
        signed: SignedTx,
        t0: float = 0.0,
        signed_s: float = 0.0,
        logged: dict[str, Any] | None = None,
        logged_s: float = 0.0,
    ) -> None:
        """Journal (unless ``logged``: already durable in the send log), broadcast, and on
        the send-log path copy the record into the store after the broadcast (its work on
        the journal thread would compete with the broadcast for the interpreter); until then
        every journal write about this trade waits for it (``_stored``)."""
        nonce = signed.nonce
        record = logged or self._trade_record(intent, signed)
        trade_id: int | None = None
        copy: asyncio.Future[tuple[int | None, int]] | None = None
        try:
            if logged is not None:
                copy = asyncio.get_running_loop().create_future()
            else:
                trade_id, _ = await self._db(lambda: self.journal.record(**record))
        except Exception as err:
            # Not journaled, so never sent: the nonce goes back (or is filled if it cannot).
            log.error("journal write failed, trade dropped before broadcast: %s", err)
            self.counters.failure("journal")
            self._trading_error("journal", err)
            self.in_flight.pop(intent.pair, None)
            try:
                self.nonces.release(nonce)
            except NonceGap:
                self._spawn(self._fill(nonce))
            return
        journaled = perf_counter() - t0 if logged is None else logged_s
        self.metrics.observe_trade_latency("journaled", journaled)
        _fault("crash_after_journal")
        _, tip = self._fees(intent.gas_price)
        p = PendingNonce(
            nonce,
            trade_id,
            intent.pair,
            intent,
            [SentTx(signed.hash_hex, signed.raw_hex, intent.gas_price, "trade", tip)],
            self.last_block,
            store_copy=copy,
        )
        if self.trading_state is TradingState.STOPPED:
            # Stopped while the journal was being written: this trade is never sent. The
            # journal says so (a restart must not send it either); the nonce is given back,
            # or filled with a self-transfer if a later one is already taken.
            if copy is not None:
                assert self.send_log is not None
                self.send_log.stopped(signed.hash_hex)
                try:
                    copy.set_result(await self._db(lambda: self.journal.record(**record)))
                except Exception as err:
                    copy.set_exception(err)
            await self._stored(p)
            await self._db(self.journal.settle, signed.hash_hex, "failed", error_class="stopped")
            if p.trade_id is not None:
                await self._db(
                    self.journal.update_trade,
                    p.trade_id,
                    status="cancelled",
                    detail=json.dumps({"error": "stopped before broadcast"}),
                )
            self.in_flight.pop(intent.pair, None)
            try:
                self.nonces.release(nonce)
            except NonceGap:
                await self._fill(nonce)
            return
        self.nonces.attach(nonce, signed.hash_hex)
        self.pending[nonce] = p
        sent_at, error_class = await self._broadcast(
            p, signed.raw_hex, signed.hash_hex, journal=copy is None
        )
        if copy is not None:
            assert self.send_log is not None
            self.send_log.broadcast(signed.hash_hex, error_class)
        if sent_at is not None:
            accepted = sent_at - t0
            self.metrics.observe_trade_latency("accepted", accepted)
            self.latencies.append(
                {
                    "nonce": nonce,
                    "t0": t0,
                    "signed": signed_s,
                    "journaled": journaled,
                    "accepted": accepted,
                }
            )
        _fault("crash_after_broadcast")
        if copy is not None:
            try:
                copy.set_result(await self._db(self.journal.record_sent, record, error_class))
            except Exception as err:
                copy.set_exception(err)
            await self._stored(p)
        if sent_at is not None and p.trade_id is not None:
            # The reports' trigger-to-acceptance figures read this (shared/reports/queries).
            stages = {"signed": signed_s, "journaled": journaled, "accepted": sent_at - t0}
            try:
                await self._db(self.journal.note_latency, p.trade_id, stages)
            except Exception as err:
                self._trading_error("journal", err)

    async def _stored(self, p: PendingNonce) -> None:
        """Wait for ``p``'s copy into the store (send-log path) and take its trade id. Every
        step that writes about ``p`` to the journal waits for this first."""
        fut = p.store_copy
        if fut is None:
            return
        try:
            trade_id, _ = await asyncio.shield(fut)  # a cancelled waiter leaves the copy be
        except Exception as err:
            if p.store_copy is fut:
                # Still in the send log, which is kept until the next start imports it.
                p.store_copy = None
                assert self.send_log is not None
                self.send_log.copied(False)
                self._trading_error("journal", err)
            return
        if p.store_copy is fut:
            p.store_copy, p.trade_id = None, trade_id
            assert self.send_log is not None
            self.send_log.copied(True)

    async def _broadcast(
        self, p: PendingNonce, raw_hex: str, tx_hash: str, *, journal: bool = True
    ) -> tuple[float | None, str | None]:
        """Sends the bytes to every endpoint: (when one accepted them, ``perf_counter``, or
        None if none did; the error class the endpoints agree on). ``journal`` false: the
        caller records the broadcast (its journal row is not in the store yet)."""
        assert self.broadcaster is not None
        try:
            result = await self.broadcaster.send(raw_hex)
        except Exception as err:
            # Not a refusal the broadcaster could classify: the bytes may or may not be out.
            # The nonce stays pending; the tracker sends them again while no endpoint has them.
            self._trading_error("broadcast", err)
            return None, None
        sent_at = perf_counter()
        if journal:
            await self._db(self.journal.mark_broadcast, tx_hash, result.error_class)
        if result.accepted:
            return sent_at, None
        kind = result.error_class or bc.REJECTED
        self.counters.failure(kind)
        log.warning("nonce %d: broadcast refused everywhere (%s)", p.nonce, kind)
        if kind == bc.NONCE_TOO_LOW:
            await self.resync()  # the tracker settles what actually happened to the nonce
        # Anything else stays pending: a refusal may pass (a rate limit, a gas spike, an
        # endpoint that forwarded it before timing out), and the nonce must not become a hole.
        # The tracker sends the same bytes again while no endpoint knows them, replaces them
        # after ``replace_after_blocks``, and a stop cancels them.
        return None, kind

    # --- replacements ---------------------------------------------------------------------------

    async def _cancel(self, p: PendingNonce, fees: Fees | None = None) -> None:
        """Replace ``p``'s transaction with the cancelling self-transfer, at a bumped price."""
        fees = fees or self._bumped_fees(p)
        signed = self._self_transfer(p.nonce, fees)
        await self._send_replacement(p.nonce, signed, fees, "cancel", p.trade_id, p.pair)

    async def _fill(self, nonce: int) -> None:
        """Use a nonce that must not stay a hole: the cancelling self-transfer."""
        if self.signer is None:
            return
        fees = self._fees(self.gauges.gas_price)
        await self._send_replacement(
            nonce, self._self_transfer(nonce, fees), fees, "cancel", None, None, create=True
        )

    async def _send_replacement(
        self,
        nonce: int,
        signed: SignedTx,
        fees: Fees,
        kind: str,
        trade_id: int | None,
        pair: str | None,
        *,
        create: bool = False,
    ) -> None:
        """Journal, then broadcast, another transaction for ``nonce``: a speed-up or a cancel
        of the pending one, or (``create``) a fill of a nonce nothing else will use."""
        p = self.pending.get(nonce)
        if p is None and not create:
            return  # settled meanwhile: nothing to replace
        if p is not None:
            await self._stored(p)
            trade_id = p.trade_id
        price, tip = fees
        await self._db(
            self.journal.record,
            nonce=nonce,
            tx_hash=signed.hash_hex,
            raw_tx=signed.raw_hex,
            kind=kind,
            gas_price=price,
            priority_fee=tip,
            trade_id=trade_id,
        )
        self.nonces.attach(nonce, signed.hash_hex)
        p = self.pending.get(nonce)
        if p is None:
            p = self.pending[nonce] = PendingNonce(nonce, trade_id, pair, None, [], self.last_block)
        p.txs.append(SentTx(signed.hash_hex, signed.raw_hex, price, kind, tip))
        p.sent_block = self.last_block
        if kind == "cancel":
            p.cancelled = True
            self.counters.cancels += 1
        else:
            self.counters.speedups += 1
        await self._broadcast(p, signed.raw_hex, signed.hash_hex)
