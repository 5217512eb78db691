"""Start-up: every journaled transaction is reconciled with the chain before the first new
trade. A transaction with a receipt is settled; one whose nonce the chain used for something
else is a conflict; the rest are pending again (sent again, or cancelled if the node is
stopped), and their pairs wait for them as before the restart."""

from __future__ import annotations

import logging
import time
from typing import Any

from edge_node.control import TradingState
from edge_node.execution.state import PendingNonce, SentTx
from edge_node.execution.stopping import Stopping
from edge_node.ingest.follower import Rpc
from edge_node.rpc.errors import EndpointUnavailable

log = logging.getLogger(__name__)


class Reconciling(Stopping):
    async def reconcile(self, rpc: Rpc) -> dict[str, Any]:
        """Before the first new trade: settle every journaled transaction against the chain."""
        if self.signer is not None:
            # Today's losses and the failure streak so far count against the limits, restart
            # or not. (Trades still open are settled below, which counts them too.)
            now = time.time()
            daily_pnl, streak = await self._db(self.journal.risk_state, now)
            self.risk.restore(now, daily_pnl, streak)
        if self.send_log is not None:
            # What a crash left between the send log and the store goes into the store first.
            signed, sent, stopped = await self._db(self.send_log.read)
            imported = await self._db(self.journal.import_send_log, signed, sent, stopped)
            if imported:
                log.warning("imported %d journaled trade(s) from the send log", imported)
            await self._db(self.send_log.truncate)
        entries = await self._db(self.journal.open_entries)
        by_nonce: dict[int, list[Any]] = {}
        for e in entries:
            by_nonce.setdefault(e.nonce, []).append(e)
        chain_nonce = int(await rpc.request("eth_getTransactionCount", [self.owner, "latest"]), 16)
        summary: dict[str, Any] = {"settled": 0, "rebroadcast": 0, "conflicts_suspected": 0}
        self.pending.clear()
        trade_ids = [e.trade_id for e in entries if e.trade_id is not None]
        pools = await self._db(self.journal.trade_pools, trade_ids) if trade_ids else {}
        for nonce, group in sorted(by_nonce.items()):
            receipts = await rpc.batch([("eth_getTransactionReceipt", [e.tx_hash]) for e in group])
            trade_id = next((e.trade_id for e in group if e.trade_id is not None), None)
            p = PendingNonce(
                nonce,
                trade_id,
                self._pair_of(pools.get(trade_id)) if trade_id is not None else None,
                None,
                [
                    SentTx(e.tx_hash, e.raw_tx, int(e.gas_price), e.kind, e.priority_fee)
                    for e in group
                ],
                # Sent again now: as of the chain head, not of a book still catching up.
                max(self.last_block, self.metrics.chain_head or 0),
                cancelled=any(e.kind == "cancel" for e in group),
            )
            hit = next(
                ((tx, r) for tx, r in zip(p.txs, receipts, strict=True) if r is not None), None
            )
            if hit is not None:
                block = int(hit[1]["blockNumber"], 16)
                if self.last_block - block + 1 >= self.cfg.confirmations:
                    await self._settle(p, hit[0], hit[1])
                    summary["settled"] += 1
                else:  # mined, not deep enough yet: the tracker settles it
                    p.mined = hit
                    self.pending[nonce] = p
                    if p.pair is not None:
                        self.in_flight[p.pair] = nonce
                    summary["mined_unconfirmed"] = summary.get("mined_unconfirmed", 0) + 1
            elif nonce < chain_nonce:
                # Used on chain, and no receipt of ours here: a conflict only if the tracker
                # sees the same on a later block (see ``Tracking._conflict_confirmed``).
                self.pending[nonce] = p
                if p.pair is not None:
                    self.in_flight[p.pair] = nonce
                summary["conflicts_suspected"] += 1
            else:
                self.pending[nonce] = p
                if p.pair is not None:
                    self.in_flight[p.pair] = nonce  # its pair waits for it, as before the crash
                if self.signer is None:
                    continue  # paper mode now: the next live start will deal with it
                if self.trading_state is TradingState.STOPPED and not p.cancelled:
                    # A stopped node does not send a trade again: it cancels the nonce.
                    await self._cancel(p)
                    summary.setdefault("cancelled", 0)
                    summary["cancelled"] += 1
                else:
                    await self._broadcast(p, p.latest.raw_hex, p.latest.tx_hash)
                    summary["rebroadcast"] += 1
        open_nonces = {n: [tx.tx_hash for tx in p.txs] for n, p in self.pending.items()}
        self.nonces.sync(chain_nonce, open_nonces)
        if not await self.refresh(rpc):
            # No trade is sized on a gas price or a capital of zero: try again on the next
            # connection.
            raise EndpointUnavailable(f"{rpc.name}: gas price and balances not readable")
        await self._fill_holes(chain_nonce)
        # Only a reconciled trader hears of stops (one that failed here is thrown away).
        control = self.control_service.control
        if self._on_transition not in control.listeners:
            control.listeners.append(self._on_transition)
            if control.state is TradingState.STOPPED and self.pending:
                # Stopped while reconciling (after some were sent again): cancel them now.
                self._spawn(self.cancel_pending("stopped while reconciling"))
        self.ready = True
        log.info(
            "journal reconciled with the chain: %s; next nonce %s", summary, self.nonces.next_nonce
        )
        return summary

    def _pair_of(self, pools: tuple[str, str] | None) -> str | None:
        return None if pools is None else self.strategy.pair_of(pools)
