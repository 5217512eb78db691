"""Tracking pending nonces block by block: a receipt settles a trade (mined or reverted); a
transaction the endpoints forgot is sent again (the same bytes); one not mined after
``replace_after_blocks`` is replaced by the same trade at a higher price (or cancelled, when
stopped); a nonce the chain used for something else is a nonce conflict."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from edge_node.control import TradingState
from edge_node.execution import txbuild
from edge_node.execution.sending import Sending
from edge_node.execution.state import PendingNonce, SentTx, Settled
from edge_node.ingest.follower import Rpc
from edge_node.risk import Outcome

log = logging.getLogger(__name__)

# A stop's cancels are sped up like trades, and may go above the gas price limit (getting out
# matters more than the fee), up to this many times it.
CANCEL_PRICE_LIMIT_FACTOR = 5
# Settled nonces are remembered this many blocks, for a reorg to put them back to pending
# (deeper than the follower's reorg window is refused there anyway).
KEEP_SETTLED = 256


class Tracking(Sending):
    def on_block(self, number: int) -> None:
        """A new block was confirmed: check pending transactions (coalesced)."""
        self.last_block = number
        if not self.pending and not self._hole_suspected():
            return
        if self._tracking.locked():
            self._track_again = True  # the running check goes round once more
        else:
            self._spawn(self.track())

    def _hole_suspected(self) -> bool:
        """On every block, against the last chain nonce read (by the tracker, or the gauges'
        refresh every few seconds): no request of its own, so nothing competes with a
        trade's broadcast in the same block. The tracker reads the nonce again to fill it."""
        if self.signer is None or not self.ready:
            return False
        return bool(self.nonces.holes(self.gauges.chain_nonce))

    async def track(self) -> None:
        async with self._tracking:
            self._track_again = True
            while self._track_again:
                self._track_again = False
                await self._track_once()

    async def _track_once(self) -> None:
        rpc = self.rpc()
        if rpc is None or not (self.pending or self.signer):
            return
        pending = list(self.pending.values())
        # The nonce first, the receipts after: a transaction mined in between then shows up
        # as mined, never as a nonce used by something else. The height comes with the nonce
        # (one batch, so one backend) to tell a later look from the same one.
        height_hex, nonce_hex = await rpc.batch(
            [("eth_blockNumber", []), ("eth_getTransactionCount", [self.owner, "latest"])]
        )
        height, chain_nonce = int(height_hex, 16), int(nonce_hex, 16)
        hashes = [tx.tx_hash for p in pending for tx in p.txs]
        receipts = (
            await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]) if hashes else []
        )
        by_hash = dict(zip(hashes, receipts, strict=True))
        self.gauges.chain_nonce = chain_nonce
        for p in pending:
            # A trade whose first broadcast is still under way (send-log path) is looked at
            # once it is in the store: nothing here writes about it before.
            await self._stored(p)
            if self.pending.get(p.nonce) is not p:
                continue  # settled meanwhile (a stop's cancel, a conflict)
            mined = next(
                ((tx, by_hash[tx.tx_hash]) for tx in p.txs if by_hash.get(tx.tx_hash)), None
            )
            if mined is not None:
                p.suspect = None
                block = int(mined[1]["blockNumber"], 16)
                if self.last_block - block + 1 >= self.cfg.confirmations:
                    await self._settle(p, mined[0], mined[1])
                else:
                    p.mined = mined  # settled once its block is deep enough
                continue
            if p.mined is not None:
                # Its block is gone (a reorg the endpoint saw before the node did): pending
                # again, and the same signed bytes are valid for the nonce: sent again below.
                log.warning("nonce %d: its block was reorganised away", p.nonce)
                p.mined = None
            if p.nonce < chain_nonce:
                if await self._conflict_confirmed(rpc, p, height):
                    await self._conflict(p)
            elif (
                self.last_block - p.sent_block >= self.cfg.replace_after_blocks
                and await self._replace(p)
            ):
                pass
            else:
                await self._check_dropped(rpc, p)
        await self._fill_holes(chain_nonce)

    async def _conflict_confirmed(self, rpc: Rpc, p: PendingNonce, height: int) -> bool:
        """The chain's count passed ``p``'s nonce and no receipt of ours was found. That is a
        conflict only on consistent evidence: the count and the receipts may come from
        different backends behind one endpoint, or from endpoints at different heights, and a
        trade that was mined must never be journaled as failed. So: none of our transactions
        is known by hash in a block, and a later block (a height above the first look) still
        shows the same."""
        found = await rpc.batch([("eth_getTransactionByHash", [tx.tx_hash]) for tx in p.txs])
        if any(isinstance(f, dict) and f.get("blockNumber") for f in found):
            p.suspect = None  # mined: the receipt is on its way
            return False
        if p.suspect is None or height <= p.suspect:
            if p.suspect is None:
                log.info("nonce %d: used on chain, no receipt of ours yet; looking again", p.nonce)
                p.suspect = height
            return False
        return True

    async def _fill_holes(self, chain_nonce: int) -> None:
        """Fill every nonce hole (see ``NonceManager.holes``) with the cancelling
        self-transfer: later transactions wait behind a hole for ever."""
        if self.signer is None:
            return
        for nonce in self.nonces.holes(chain_nonce):
            log.error("nonce %d is a hole (nothing of ours holds it): filling it", nonce)
            self.counters.failure("nonce_hole")
            try:
                await self._fill(nonce)
            except Exception as err:  # the journal or the endpoints: tried again next block
                self._trading_error("journal", err)

    async def _settle(self, p: PendingNonce, tx: SentTx, receipt: dict[str, Any]) -> None:
        await self._stored(p)
        ok = int(receipt.get("status", "0x0"), 16) == 1
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice") or hex(tx.gas_price), 16)
        gas_cost = gas_used * price
        profit = txbuild.profit_from(receipt, self.executor) if ok and tx.kind != "cancel" else 0
        await self._db(
            self.journal.settle,
            tx.tx_hash,
            "mined" if ok else "reverted",
            block_number=block,
            gas_used=gas_used,
            effective_gas_price=price,
        )
        for other in p.txs:
            if other.tx_hash != tx.tx_hash:
                await self._db(self.journal.settle, other.tx_hash, "replaced")
        status = "cancelled" if tx.kind == "cancel" else ("mined" if ok else "reverted")
        if p.trade_id is not None:
            await self._db(
                self.journal.update_trade,
                p.trade_id,
                status=status,
                tx_hash=tx.tx_hash,
                block_number=block,
                profit=profit,
                gas_used=gas_used,
                gas_cost=gas_cost,
            )
        if p.trade_id is not None or tx.kind != "cancel":
            self.counters.status("live", status)
            if status == "reverted":
                self.counters.failure("reverted")
        # A cancel (of a trade, or a fill) is neither a success nor a failure: its gas counts
        # against the daily loss, the failure streak stays as it is.
        success = None if status == "cancelled" else status == "mined"
        self.risk.record(Outcome(success=success, net=profit - gas_cost), time.time())
        p.mined = None
        self.recent[p.nonce] = Settled(p, tx, block)
        for n in [n for n, s in self.recent.items() if s.block < self.last_block - KEEP_SETTLED]:
            del self.recent[n]
        self.nonces.settle(p.nonce)
        self.pending.pop(p.nonce, None)
        if p.pair is not None:
            self.in_flight.pop(p.pair, None)
        log.info(
            "nonce %d settled: %s in block %d (profit %d, gas %d)",
            p.nonce,
            status,
            block,
            profit,
            gas_cost,
        )
        self._spawn(self.refresh())

    def on_reorg(self, number: int) -> None:
        """The node rolled its chain back to block ``number``: trades seen in later blocks,
        settled or not, are pending again."""
        self.last_block = number
        self._spawn(self._reorged(number))

    async def _reorged(self, number: int) -> None:
        async with self._tracking:
            for p in list(self.pending.values()):
                if p.mined is not None and int(p.mined[1]["blockNumber"], 16) > number:
                    tx = p.mined[0]
                    p.mined, p.sent_block = None, self.last_block
                    log.warning("nonce %d: its block %s is gone; sent again", p.nonce, tx.tx_hash)
                    await self._broadcast(p, tx.raw_hex, tx.tx_hash)
            undone = sorted(
                (s for s in self.recent.values() if s.block > number), key=lambda s: s.block
            )
            for s in undone:
                p = s.pending
                del self.recent[p.nonce]
                hashes = [tx.tx_hash for tx in p.txs]
                await self._db(self.journal.unsettle, hashes, p.trade_id)
                self.nonces.unsettle(p.nonce, hashes)
                p.sent_block, p.suspect = self.last_block, None
                self.pending[p.nonce] = p
                if p.pair is not None:
                    self.in_flight.setdefault(p.pair, p.nonce)
                if p.trade_id is not None:
                    self.counters.status("live", "reorged")
                log.warning(
                    "nonce %d: settled in block %d, which a reorg removed: pending again",
                    p.nonce,
                    s.block,
                )
            try:
                if undone:
                    # The risk tally and today's loss follow the journal, which follows the
                    # chain: restored before anything is sent again, so no trade is sized or
                    # refused on a tally that still counts the removed blocks' outcomes.
                    now = time.time()
                    daily_pnl, streak = await self._db(self.journal.risk_state, now)
                    self.risk.restore(now, daily_pnl, streak)
            finally:
                # Sent again even if the tally could not be read back (the database away):
                # the trades are pending again and their bytes must reach the chain.
                for s in undone:
                    # The same signed bytes are still valid for this nonce.
                    await self._broadcast(s.pending, s.tx.raw_hex, s.tx.tx_hash)

    async def _conflict(self, p: PendingNonce) -> None:
        """The chain used this nonce for a transaction the journal does not know."""
        log.error("nonce %d was used by an unknown transaction: nonce conflict", p.nonce)
        await self._stored(p)
        self.counters.failure("nonce_conflict")
        await self._journal_conflict(p)
        self.nonces.settle(p.nonce)
        self.pending.pop(p.nonce, None)
        if p.pair is not None:
            self.in_flight.pop(p.pair, None)
        await self.resync()

    async def _journal_conflict(self, p: PendingNonce) -> None:
        """The journal's side of a nonce conflict: none of ours was mined, the trade failed."""
        for tx in p.txs:
            await self._db(
                self.journal.settle, tx.tx_hash, "replaced", error_class="nonce_conflict"
            )
        if p.trade_id is not None:
            await self._db(
                self.journal.update_trade,
                p.trade_id,
                status="failed",
                detail=json.dumps({"error": "nonce_conflict"}),
            )

    async def _replace(self, p: PendingNonce) -> bool:
        """Not mined in time: the same trade again at a higher price (or a cancel if stopped).
        False if nothing was sent (no key, or the gas price limit holds a speed-up back)."""
        if self.signer is None:
            return False
        fees = self._bumped_fees(p)
        price = fees[0]
        if p.cancelled or p.intent is None or self.trading_state is TradingState.STOPPED:
            if price > CANCEL_PRICE_LIMIT_FACTOR * self.risk.limits.max_gas_price:
                return False  # a cancel may go above the limit, but not without end
            await self._cancel(p, fees)
            return True
        cap = self.risk.limits.max_gas_price
        if price > cap:
            # A speed-up would break the gas price limit: the trade waits at its price (a
            # stop's cancel is the only replacement allowed above the limit).
            if not p.capped:
                p.capped = True
                log.warning(
                    "nonce %d: not sped up, %d wei would exceed the gas price limit %d",
                    p.nonce,
                    price,
                    cap,
                )
            return False
        signed = self.sign(p.intent, p.nonce, fees)
        await self._send_replacement(p.nonce, signed, fees, "speedup", p.trade_id, p.pair)
        return True

    async def _check_dropped(self, rpc: Rpc, p: PendingNonce) -> None:
        tx = p.latest
        seen = await rpc.request("eth_getTransactionByHash", [tx.tx_hash])
        if seen is None and self.broadcaster is not None:
            # The endpoints forgot it: send the very same bytes again.
            self.counters.rebroadcasts += 1
            self.counters.failure("dropped")
            log.warning("nonce %d: %s dropped; rebroadcasting", p.nonce, tx.tx_hash[:12])
            await self._broadcast(p, tx.raw_hex, tx.tx_hash)
