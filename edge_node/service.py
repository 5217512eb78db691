"""The edge node as a service: wires the book, follower, listener, store writer and API.

``EdgeNode.run(stop)`` runs until ``stop`` is set (SIGTERM/SIGINT in the CLI), then shuts down
in order: stop following, write what is queued (bounded), stop the API. Anything fatal (a reorg
deeper than the window, a store error retrying cannot fix) ends the run with that error, so a
supervisor restarts the node and an operator sees why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from edge_node import __version__, startup
from edge_node.alerts import (
    AlertPublisher,
    emergency_stop_event,
    reorg_too_deep_event,
    risk_pause_event,
    sns_client,
)
from edge_node.api import ApiServer, build_app
from edge_node.api_tokens import SecretTokens
from edge_node.chain.decode import MalformedHeader, parse_header
from edge_node.control import TradingState, Transition
from edge_node.ingest.assembler import BlockAssembler
from edge_node.ingest.follower import Follower, Rpc
from edge_node.ingest.listener import Listener
from edge_node.market.book import MarketBook, ReorgTooDeep
from edge_node.market.book_records import BlockCommit, Rollback
from edge_node.market.candles import interval_seconds
from edge_node.market.pools import PoolInfo
from edge_node.node_secrets import NodeSecrets, connected_url, store_shown
from edge_node.node_views import NodeViews
from edge_node.rpc.errors import EndpointMisconfigured, ResponseInvalid
from edge_node.startup import checkpoint_name
from edge_node.store.batches import AuditOp, CommitOp, RegisterPoolsOp, RollbackOp
from edge_node.store.usage import UsageSampler
from edge_node.store.writer import StoreWriter, database_unavailable
from edge_node.telemetry import Metrics, registry_for
from edge_node.trading import TradingDesk
from edge_node.trading_surfaces import TradingSurfaces
from shared.config import ConfigError, NodeConfig

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 10.0


class FatalError(Exception):
    """The node cannot continue; the message says what the operator must do."""


class EdgeNode(NodeViews, TradingSurfaces):
    def __init__(
        self,
        cfg: NodeConfig,
        *,
        websocket: bool | None = None,
        live: bool = False,
        config_path: Path | None = None,
        ssm_client: Any | None = None,
        secrets_client: Any | None = None,
        alerts_client: Any | None = None,
    ) -> None:
        self.cfg = cfg
        self.websocket = cfg.websocket if websocket is None else websocket
        self.metrics = Metrics()
        self.registry = registry_for(self.metrics)
        self.pool_infos = [PoolInfo.from_config(p) for p in cfg.pools]
        self.interval_specs = interval_seconds(cfg.candles.intervals)
        self.book = MarketBook(
            self.pool_infos, [s for _, s in self.interval_specs], cfg.chain.reorg_window
        )
        self.secrets = NodeSecrets(cfg, secrets_client)
        self.engine: Engine = self.secrets.store_engine()
        self.writer = StoreWriter(
            self.engine,
            cfg.chain.chain_id,
            checkpoint_name(cfg.chain.chain_id),
            self.interval_specs,
            cfg.chain.reorg_window,
            batch_max_blocks=cfg.store.batch_max_blocks,
            queue_max=cfg.store.queue_max,
            queue_max_events=cfg.store.queue_max_events,
            on_malformed=self.metrics.market_data_error,
            on_write_timed=lambda s: self.metrics.db_latency("store_batch", s),
        )
        # the store as connected: store.url is not it when the login comes from a secret
        self.usage = UsageSampler(self.engine, connected_url(self.engine), self.metrics)
        self.assembler = BlockAssembler(self.metrics)
        self.follower = Follower(
            self.book,
            self,
            self.metrics,
            addresses=[p.address for p in self.pool_infos],
            getlogs_max_range=cfg.chain.getlogs_max_range,
            batch_max_requests=cfg.chain.batch_max_requests,
            start_block=cfg.chain.start_block,
            on_commit=self._on_commit,
            on_rollback=self._on_rollback,
            assembler=self.assembler,
        )
        self.listener = Listener(
            cfg,
            self.follower,
            self.metrics,
            websocket=self.websocket,
            on_connect=self._on_connect,
        )
        self.desk: TradingDesk | None = None
        if cfg.strategy is not None:
            self.desk = TradingDesk(
                cfg,
                live=live,
                book=self.book,
                assembler=self.assembler,
                engine=self.engine,
                metrics=self.metrics,
                audit=self._audit,
                rpc=lambda: self.listener.rpc,
                config_path=config_path,
                ssm_client=ssm_client,
                secrets_client=secrets_client,
            )
        elif live:
            raise ConfigError("config", ["--live needs [strategy] and [execution] sections"])
        self.alerts: AlertPublisher | None = None
        if cfg.alerts.sns_topic_arn and cfg.alerts.region:
            self.alerts = AlertPublisher(
                cfg.alerts.sns_topic_arn,
                alerts_client or sns_client(cfg.alerts.region),
                self.metrics,
                cfg.alerts.queue_max,
            )
        if self.desk is not None:
            self.desk.control.listeners.append(self._on_transition)
        self.api: ApiServer | None = None
        self._genesis: str | None = None
        self._started = time.time()
        self._install_sources()

    # --- the follower's sink --------------------------------------------------------------------

    async def commit(self, commit: BlockCommit) -> None:
        await self.writer.submit_async(CommitOp(commit))

    async def rollback(self, rollback: Rollback) -> None:
        await self.writer.submit_async(RollbackOp(rollback))

    def _audit(self, action: str, detail: dict[str, Any]) -> None:
        self.writer.submit(AuditOp("edge-node", action, json.dumps(detail, default=str)))

    async def _on_connect(self, rpc: Rpc) -> None:
        delay = 0.5
        while True:
            try:
                await self._check_genesis(rpc)
                if self.desk is not None:
                    await self.desk.on_connect(rpc)
                return
            except Exception as err:
                if not database_unavailable(err):
                    raise
                # The database is gone for now: the connection is fine, so wait for the
                # database rather than failing the endpoint over (or stopping).
                log.warning("database unavailable while starting a session (%s); retrying", err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _on_commit(self, commit: BlockCommit) -> None:
        if self.desk is not None:
            self.desk.on_commit(commit.header.number, commit.pools)
        if commit.swaps:
            self.metrics.candle_lag_s = max(0.0, time.time() - commit.header.timestamp)

    def _on_rollback(self, rollback: Rollback) -> None:
        if self.desk is not None:
            self.desk.on_rollback(rollback.header.number)
        self.writer.submit(
            AuditOp(
                "edge-node",
                "reorg",
                json.dumps(
                    {"to_block": rollback.header.number, "blocks_removed": rollback.blocks_removed}
                ),
            )
        )

    def _on_transition(self, t: Transition) -> None:
        """Raise the stops and the risk's pauses to the fan-out (queued: never waits)."""
        if self.alerts is None:
            return
        at = datetime.fromtimestamp(t.at, UTC)
        if t.state is TradingState.STOPPED:
            self.alerts.publish(emergency_stop_event(t.actor, t.reason, at))
        elif t.state is TradingState.PAUSED and t.actor == "risk":
            self.alerts.publish(risk_pause_event(t.reason, at))

    # --- start-up checks ------------------------------------------------------------------------

    async def _check_genesis(self, rpc: Rpc) -> None:
        """Refuse an endpoint whose chain is not the one this store was built from."""
        obj = await rpc.request("eth_getBlockByNumber", ["0x0", False])
        try:
            genesis = parse_header(obj).hash
        except MalformedHeader as err:
            raise ResponseInvalid(f"{rpc.name}: genesis block: {err}") from None
        if self._genesis is None:
            self._genesis = await asyncio.to_thread(self._stored_genesis, genesis)
        if genesis != self._genesis:
            raise EndpointMisconfigured(
                f"{rpc.name} serves a chain with genesis {genesis[:18]}…, but this store was "
                f"built from genesis {self._genesis[:18]}…; use another endpoint or a fresh store"
            )

    def _stored_genesis(self, seen: str) -> str:
        return startup.stored_genesis(self.engine, self.cfg.chain.chain_id, seen)

    def _resume(self) -> None:
        startup.restore(self.engine, self.cfg, self.book, self.writer, self.interval_specs)

    # --- running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        auth = await self.secrets.api_authenticator()
        log.info(
            "edge node %s: chain %s (id %d), %d pools, store %s, %s mode",
            __version__,
            self.cfg.chain.name,
            self.cfg.chain.chain_id,
            len(self.pool_infos),
            store_shown(self.cfg, self.engine),
            "websocket" if self.websocket else "HTTP polling",
        )
        # Whatever part of the start fails (the API port taken, a key that does not load),
        # what had started is stopped again: the writer thread, the broadcaster's sessions,
        # the API's runner, the engine's connections.
        inner_stop = asyncio.Event()
        tasks: list[asyncio.Task[None]] = []
        writer_started = False
        failure: BaseException | None = None
        try:
            if self.alerts is not None:
                self.alerts.start()
            await asyncio.to_thread(self._resume)
            if self.desk is not None:
                # Before anything starts: a missing key or a wrong owner ends the start cleanly.
                await self.desk.prepare()
                self.desk.install_metrics()
            self.writer.start()
            writer_started = True
            self.usage.start()
            self.writer.submit(RegisterPoolsOp(self.pool_infos))
            self.api = ApiServer(
                build_app(self, auth, self.metrics), self.cfg.api.host, self.cfg.api.port
            )
            if isinstance(auth, SecretTokens):  # a rotated token is picked up by this task
                tasks.append(asyncio.create_task(auth.run(inner_stop), name="api-tokens"))
            try:
                await self.api.start()
            except OSError as err:
                raise FatalError(
                    f"the API cannot listen on {self.cfg.api.host}:{self.cfg.api.port}: "
                    f"{err.strerror or err} (is another node running? see api.port)"
                ) from None
            # The listener and the desk stop after the drain, not at the first signal:
            # in-flight transactions still need blocks and receipts to settle.
            listener = asyncio.create_task(self.listener.run(inner_stop), name="listener")
            tasks.append(listener)
            desk = None
            if self.desk is not None:
                desk = asyncio.create_task(self.desk.run(inner_stop), name="trading")
                tasks.append(desk)
            if ready is not None:
                ready.set()
            failure = await self._watch(stop, listener, desk)
            if isinstance(failure, ReorgTooDeep) and self.alerts is not None:
                self.alerts.publish(reorg_too_deep_event(str(failure)))
            if failure is None and self.desk is not None:
                drained = await self.desk.drain()
                if not drained:
                    log.warning("shutting down with transactions still pending (journaled)")
        finally:
            await self._shut_down(inner_stop, tasks, writer_started)
        if failure is not None:
            raise failure

    async def _watch(
        self, stop: asyncio.Event, listener: asyncio.Task[None], desk: asyncio.Task[None] | None
    ) -> BaseException | None:
        """Wait for ``stop``; the first failure of a part that must keep running, if any."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            if listener.done():
                return listener.exception() or FatalError("listener stopped")
            if desk is not None and desk.done():
                # Without it the stop flags are not polled: never keep running so.
                return desk.exception() or FatalError("trading task stopped")
            if self.writer.failed is not None:
                return FatalError(f"store write failed: {self.writer.stats.last_error}")
        return None

    async def _shut_down(
        self, inner_stop: asyncio.Event, tasks: list[asyncio.Task[None]], writer_started: bool
    ) -> None:
        """Stop whatever ``run`` started, in order; safe after a start that failed half-way."""
        inner_stop.set()
        self.usage.stop()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.desk is not None:
            await self.desk.close()
        if writer_started:
            flushed = await asyncio.to_thread(self.writer.stop, SHUTDOWN_FLUSH_S)
            if not flushed:
                log.warning(
                    "store not fully written at shutdown; the next start replays from block %s",
                    self.writer.stats.committed_block,
                )
        if self.api is not None:
            await self.api.stop()
        if self.alerts is not None and not await asyncio.to_thread(self.alerts.close):
            log.warning("some of the node's alerts were not sent before the shutdown")
        self.engine.dispose()


__all__ = ["EdgeNode", "FatalError", "checkpoint_name"]
