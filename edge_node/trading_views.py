"""What the trading desk shows: its part of the node's status, and the metrics read from it
at each scrape. Mixed into ``TradingDesk``."""

from __future__ import annotations

from typing import Any

from edge_node.control import Control, ControlService, TradingState
from edge_node.execution.trader import Trader
from edge_node.risk import LIMITS, RiskGate
from edge_node.telemetry import Metrics
from edge_node.trading_config import NATIVE_DECIMALS, capital_decimals
from shared import metrics as names
from shared.config import NodeConfig


class TradingViews:
    cfg: NodeConfig
    live: bool
    control: Control
    control_service: ControlService
    risk: RiskGate
    trader: Trader | None
    metrics: Metrics

    def status(self) -> dict[str, Any]:
        t = self.trader
        out: dict[str, Any] = {
            "mode": "live" if self.live else "paper",
            # What it must be: live only where the config allows it (execution.mode); the probe
            # publishes PaperTradingViolation from these two and the live trades counted.
            "required_mode": self.required_mode,
            "live_trades": self._live_trades(),
            "control": self.control.snapshot(),
            "ready": bool(t and t.ready),
            "risk": {
                "daily_pnl": str(self.risk.daily_pnl),
                # The day's realised loss against its limit (raw capital units, as strings:
                # wei-sized integers do not survive a JSON float); the probe's LossLimit.
                "daily_loss": str(max(0, -self.risk.daily_pnl)),
                "max_daily_loss": str(self.risk.limits.max_daily_loss),
                "daily_loss_over_limit": -self.risk.daily_pnl >= self.risk.limits.max_daily_loss,
                "consecutive_failures": self.risk.consecutive_failures,
                "refusals": dict(self.risk.refusals),
            },
            "flag_poll_error": self.control_service.last_poll_error,
        }
        if t is not None:
            out["pending_nonces"] = sorted(t.pending)
            out["next_nonce"] = t.nonces.next_nonce
            out["nonce_holes"] = t.nonces.holes(t.gauges.chain_nonce)
            out["durability"] = t.durability()
            out["gas_price"] = str(t.gauges.gas_price)
            out["gas_balance"] = str(t.gauges.gas_balance)
            out["capital"] = str(t.gauges.capital)
            out["last_stop_report"] = t.last_stop_report
        return out

    @property
    def required_mode(self) -> str:
        assert self.cfg.execution is not None
        return self.cfg.execution.mode

    def _live_trades(self) -> int:
        t = self.trader
        if t is None:
            return 0
        return sum(n for (mode, _), n in t.counters.by_status.items() if mode == "live")

    def install_metrics(self) -> None:
        m = self.metrics
        mode = "live" if self.live else "paper"
        m.at_zero(names.TRADES_TOTAL, [(mode, st) for st in names.TRADE_STATUSES[mode]])
        m.at_zero(names.TRADE_FAILURES_TOTAL, [(k,) for k in names.TRADE_FAILURE_CLASSES])
        m.at_zero(names.RISK_REFUSALS_TOTAL, [(k,) for k in LIMITS])
        states = {TradingState.RUNNING: 0.0, TradingState.PAUSED: 1.0, TradingState.STOPPED: 2.0}
        s = m.sources
        s["emergency_stop_active"] = lambda: float(self.control.state is TradingState.STOPPED)
        s["trading_state"] = lambda: states[self.control.state]
        s["paper_trading_mode"] = lambda: 0.0 if self.live else 1.0
        s["pending_transactions"] = lambda: len(self.trader.pending) if self.trader else 0
        s["pending_transaction_age_blocks"] = self._oldest_pending
        s["nonce_gap"] = lambda: (
            len(self.trader.nonces.holes(self.trader.gauges.chain_nonce)) if self.trader else 0
        )
        s["gas_balance"] = lambda: (
            self.trader.gauges.gas_balance / 10**NATIVE_DECIMALS if self.trader else None
        )
        cap = 10 ** capital_decimals(self.cfg)
        s["capital_balance"] = lambda: self.trader.gauges.capital / cap if self.trader else None
        m.labelled_sources["trades_total"] = lambda: (
            [
                ((mode, st), float(n))
                for (mode, st), n in sorted(self.trader.counters.by_status.items())
            ]
            if self.trader
            else []
        )
        m.labelled_sources["trade_failures_total"] = lambda: (
            [((k,), float(n)) for k, n in sorted(self.trader.counters.failures.items())]
            if self.trader
            else []
        )
        m.labelled_sources["trading_errors_total"] = lambda: (
            [((k,), float(n)) for k, n in sorted(self.trader.counters.errors.items())]
            if self.trader
            else []
        )
        m.labelled_sources["transactions_sent_total"] = lambda: (
            [
                (("trade",), float(self.trader.counters.signed)),
                (("speedup",), float(self.trader.counters.speedups)),
                (("cancel",), float(self.trader.counters.cancels)),
            ]
            if self.trader
            else []
        )

    def _oldest_pending(self) -> float | None:
        t = self.trader
        if t is None or not t.pending:
            return 0.0
        return float(t.last_block - min(p.sent_block for p in t.pending.values()))
