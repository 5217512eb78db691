"""The emergency stop, on the trader's side: every pending nonce is replaced with the cancelling
self-transfer at a higher price, and what is still exposed is reported. Signing itself halts at
once (the trader checks the control state before every signature)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from edge_node.control import TradingState, Transition
from edge_node.execution.tracking import Tracking

log = logging.getLogger(__name__)


class Stopping(Tracking):
    def _on_transition(self, t: Transition) -> None:
        if t.state is TradingState.STOPPED and self.signer is not None:
            self._spawn(self.cancel_pending(t.reason))

    async def cancel_pending(self, reason: str) -> dict[str, Any]:
        """Replace every pending nonce with a zero-value self-transfer at a higher price."""
        cancelled = []
        # Not while the tracker settles nonces: a nonce it settles is not cancelled after.
        async with self._tracking:
            for p in list(self.pending.values()):
                if p.cancelled or self.pending.get(p.nonce) is not p:
                    continue
                await self._cancel(p)
                cancelled.append(p.nonce)
        report = self.exposure()
        report["cancelled_nonces"] = cancelled
        report["reason"] = reason
        self.last_stop_report = report
        self.audit("emergency_stop_exposure", report)
        log.critical("emergency stop: cancels sent for nonces %s; exposure %s", cancelled, report)
        return report

    def exposure(self) -> dict[str, Any]:
        return {
            "pending_nonces": sorted(self.pending),
            "pending_trades": [p.trade_id for p in self.pending.values() if p.trade_id],
            "capital": str(self.gauges.capital),
            "gas_balance": str(self.gauges.gas_balance),
        }

    async def drain(self, within: float) -> bool:
        """Wait (bounded) for every pending transaction to settle (the tracker settles them
        block by block; polling is all this needs), and for trades still being journaled or
        simulated: ``in_flight`` holds them from signing on."""
        deadline = time.monotonic() + within
        while (self.pending or self.in_flight) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return not (self.pending or self.in_flight)
