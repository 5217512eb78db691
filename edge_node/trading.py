"""The trading side of the node, assembled: control, risk, strategy, trader, key and broadcaster.

Order of events:

1. ``prepare`` (before any connection): the persisted stop/pause flags decide the starting
   state; in live mode the key is loaded (never logged) and must be the configured owner's,
   and the node says loudly that it is trading live. Paper mode loads no key and builds no
   broadcaster at all.
2. ``on_connect`` (first connection): the pools' token addresses are read from the chain and
   checked (both pools of a pair trade the same two tokens), the executor contract is checked
   (code deployed, owned by the bot), the strategy and the trader are built, and the journal
   is reconciled with the chain. Only then may the trader trade.
3. ``run``: the flag poller and the refresher of gas price, balances and capital.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edge_node.control import Control, ControlService, TradingState
from edge_node.execution import keys, onchain
from edge_node.execution.broadcast import Broadcaster
from edge_node.execution.journal import Journal
from edge_node.execution.sendlog import SendLog, send_log_path
from edge_node.execution.signing import TxSigner
from edge_node.execution.trader import Trader
from edge_node.ingest.assembler import BlockAssembler
from edge_node.ingest.follower import Rpc
from edge_node.market.book import MarketBook
from edge_node.market.live import LiveOverlay
from edge_node.risk import LIMITS, RiskGate, RiskLimits
from edge_node.strategy.arbitrage import ArbParams, TwoPoolArbitrage
from edge_node.telemetry import Metrics
from shared import control_flags
from shared import metrics as names
from shared.config import ConfigError, NodeConfig, load_config

log = logging.getLogger(__name__)

NATIVE_DECIMALS = 18
REFRESH_EVERY_S = 3.0


def raw(amount: Decimal, decimals: int) -> int:
    return int(amount * (Decimal(10) ** decimals))


class TradingDesk:
    def __init__(
        self,
        cfg: NodeConfig,
        *,
        live: bool,
        book: MarketBook,
        assembler: BlockAssembler,
        engine: Engine,
        metrics: Metrics,
        audit: Any,
        rpc: Any,
        config_path: Path | None = None,
        ssm_client: Any | None = None,
        secrets_client: Any | None = None,
    ) -> None:
        assert cfg.strategy is not None and cfg.execution is not None
        self.cfg = cfg
        self.live = live
        self.book = book
        self.assembler = assembler
        self.engine = engine
        self.metrics = metrics
        self.audit = audit
        self.rpc = rpc
        self.config_path = config_path
        self.secrets_client = secrets_client
        self.control = Control()
        self.control_service = ControlService(
            self.control, engine, cfg.control, ssm_client or self._ssm_client(cfg)
        )
        self.risk = RiskGate(self._limits(cfg))
        self.overlay = LiveOverlay(book)
        self.trader: Trader | None = None
        self.strategy: TwoPoolArbitrage | None = None
        self.signer: TxSigner | None = None
        self.broadcaster: Broadcaster | None = None

    @staticmethod
    def _ssm_client(cfg: NodeConfig) -> Any | None:
        # Short timeouts: the flag is polled every fraction of a second, and a read that hangs
        # must not stand in for one that says "stop" (the poller waits for it, bounded).
        if not cfg.control.ssm_parameter:
            return None
        return control_flags.ssm_client(cfg.control.aws_region)

    def _capital_decimals(self, cfg: NodeConfig) -> int:
        assert cfg.strategy is not None
        symbol = cfg.strategy.pairs[0].capital
        for p in cfg.pools:
            if p.token0 == symbol:
                return p.decimals0
            if p.token1 == symbol:
                return p.decimals1
        raise ConfigError("config", [f"strategy: capital token {symbol} in no pool"])

    def _limits(self, cfg: NodeConfig) -> RiskLimits:
        r, cap = cfg.risk, self._capital_decimals(cfg)
        return RiskLimits(
            max_trade_size=raw(r.max_trade_size, cap),
            max_daily_loss=raw(r.max_daily_loss, cap),
            max_gas_price=int(r.max_gas_price_gwei * 10**9),
            min_gas_balance=raw(r.min_gas_balance, NATIVE_DECIMALS),
            max_consecutive_failures=r.max_consecutive_failures,
            max_data_age_s=r.max_data_age_s,
        )

    def _params(self, cfg: NodeConfig) -> ArbParams:
        s, cap = cfg.strategy, self._capital_decimals(cfg)
        assert s is not None
        return ArbParams(
            min_profit=raw(s.min_profit, cap),
            max_input=raw(s.max_input, cap),
            gas_limit=s.gas_limit,
            enabled=s.enabled,
        )

    # --- 1. before connecting -------------------------------------------------------------------

    async def prepare(self) -> None:
        await self.control_service.load()
        if not self.live:
            log.warning("PAPER TRADING: trades are simulated with eth_call; no key is loaded")
            return
        ex = self.cfg.execution
        assert ex is not None
        source: keys.KeySource
        if ex.key.source == "env":
            source = keys.EnvKey(ex.key.env_var)
        elif ex.key.source == "keystore":
            assert ex.key.keystore_path is not None
            source = keys.KeystoreKey.from_config(ex.key)
        else:
            assert ex.key.secret_id is not None and ex.key.region is not None
            source = keys.SecretsManagerKey(ex.key.secret_id, ex.key.region, ex.key.field)
        secret = await asyncio.to_thread(keys.load_key, source, secrets_client=self.secrets_client)
        self.signer = TxSigner(secret, self.cfg.chain.chain_id)
        del secret
        if self.signer.address.lower() != ex.owner:
            raise ConfigError(
                "config",
                [
                    f"execution.owner: the signing key is {self.signer.address}, "
                    f"not the configured owner {ex.owner}"
                ],
            )
        self.broadcaster = Broadcaster(
            list(self.cfg.endpoints), self.metrics, self.cfg.chain.request_timeout_s
        )
        banner = "*" * 72
        log.critical(banner)
        log.critical(
            "LIVE TRADING on chain %d as %s: transactions will be signed and sent",
            self.cfg.chain.chain_id,
            self.signer.address,
        )
        log.critical(banner)

    # --- 2. on the first connection -------------------------------------------------------------

    async def on_connect(self, rpc: Rpc) -> None:
        if self.trader is not None:
            return
        assert self.cfg.strategy is not None and self.cfg.execution is not None
        pairs = await onchain.read_pairs(rpc, self.cfg.strategy, self.cfg.pools)
        await onchain.check_executor(rpc, self.cfg.execution)
        strategy = TwoPoolArbitrage(pairs, self._params(self.cfg))
        ex = self.cfg.execution
        assert ex is not None
        journal = Journal(self.engine, self.cfg.chain.chain_id, ex.owner)
        journal.time_commits(lambda s: self.metrics.db_latency("journal_commit", s))
        trader = Trader(
            cfg=ex,
            chain_id=self.cfg.chain.chain_id,
            book=self.book,
            overlay=self.overlay,
            control_service=self.control_service,
            risk=self.risk,
            strategy=strategy,
            journal=journal,
            metrics=self.metrics,
            rpc=self.rpc,
            audit=self.audit,
            signer=self.signer,
            broadcaster=self.broadcaster,
            send_log=self._send_log(),
        )
        head = self.book.head
        trader.last_block = head.number if head else 0
        try:
            summary = await trader.reconcile(rpc)
        except BaseException:
            await trader.discard()
            raise
        # Only a reconciled trader is kept: if reconciling fails (the database or the
        # endpoint went away), the next connection starts over.
        self.trader, self.strategy = trader, strategy
        self.audit("journal_reconciled", summary)
        self.assembler.on_state_event = trader.on_state_event

    def _send_log(self) -> SendLog | None:
        """Live on SQLite: trades are made durable in a send log next to the database before
        the broadcast (see ``execution.sendlog``); on PostgreSQL, by the journal's commit."""
        if not self.live:
            return None
        path = send_log_path(self.cfg.store.url)
        return None if path is None else SendLog(path)

    # --- 3. running -----------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        poller = asyncio.create_task(self.control_service.run(stop), name="control-poller")
        try:
            while not stop.is_set():
                if poller.done():
                    poller.result()  # the stop flags are not polled any more: fatal
                    raise RuntimeError("the control-flag poller stopped")
                if self.trader is not None:
                    try:
                        await self.trader.refresh()
                    except Exception as err:  # any endpoint trouble: try again next round
                        log.warning("could not refresh gas price and balances: %s", err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), REFRESH_EVERY_S)
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    def on_rollback(self, number: int) -> None:
        if self.trader is not None:
            self.trader.on_rollback(number)
        else:
            self.overlay.clear()

    def on_commit(self, number: int, pools: Iterable[str]) -> None:
        if self.trader is not None:
            self.trader.on_commit(number, pools)

    async def drain(self) -> bool:
        """SIGTERM: stop taking trades, wait (bounded) for in-flight ones to settle."""
        if self.control.state is TradingState.RUNNING:
            self.control.pause("edge-node", "shutting down")  # in memory only: not persisted
        if self.trader is None:
            return True
        return await self.trader.drain(self.cfg.control.drain_timeout_s)

    async def close(self) -> None:
        if self.trader is not None:
            await self.trader.close()
        elif self.broadcaster is not None:
            await self.broadcaster.close()

    # --- hot reload -----------------------------------------------------------------------------

    def reload(self) -> dict[str, Any]:
        """Re-read the config file; apply the strategy and risk sections if the file is valid.

        Anything else that changed needs a restart and is reported, not applied.
        """
        if self.config_path is None:
            raise ConfigError("reload", ["the node was not started from a config file"])
        new = load_config(self.config_path)  # ConfigError: nothing changes
        if new.strategy is None or new.execution is None:
            raise ConfigError(str(self.config_path), ["strategy: cannot be removed at run time"])
        restart_needed = [
            section
            for section in ("chain", "endpoints", "pools", "store", "api", "execution", "control")
            if getattr(new, section) != getattr(self.cfg, section)
        ]
        old = self.cfg.strategy
        assert old is not None
        if [p.pools for p in new.strategy.pairs] != [p.pools for p in old.pairs]:
            restart_needed.append("strategy.pairs")
        params, limits = self._params(new), self._limits(new)
        if self.strategy is not None and self.trader is not None:
            self.strategy.update_params(params)
            self.trader.params_changed()
        self.risk.update_limits(limits)
        self.cfg = self.cfg.model_copy(update={"strategy": new.strategy, "risk": new.risk})
        result = {
            "applied": {
                "strategy": new.strategy.model_dump(mode="json"),
                "risk": new.risk.model_dump(mode="json"),
            },
            "restart_needed_for": restart_needed,
            "at": time.time(),
        }
        self.audit("strategy_reloaded", result)
        return result

    # --- views ----------------------------------------------------------------------------------

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
        cap = 10 ** self._capital_decimals(self.cfg)
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
