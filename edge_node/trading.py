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
from edge_node.node_secrets import connected_url
from edge_node.risk import RiskGate
from edge_node.strategy.arbitrage import TwoPoolArbitrage
from edge_node.telemetry import Metrics
from edge_node.trading_config import arb_params, risk_limits
from edge_node.trading_views import TradingViews
from shared import control_flags
from shared.config import ConfigError, NodeConfig, load_config

log = logging.getLogger(__name__)

REFRESH_EVERY_S = 3.0


class TradingDesk(TradingViews):
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
        self.risk = RiskGate(risk_limits(cfg))
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
        strategy = TwoPoolArbitrage(pairs, arb_params(self.cfg))
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
        path = send_log_path(connected_url(self.engine))  # not store.url (a secret may name it)
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
        params, limits = arb_params(new), risk_limits(new)
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
