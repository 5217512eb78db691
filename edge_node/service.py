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
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from edge_node import __version__
from edge_node.api import ActionRefused, ApiServer, NotTrading, build_app
from edge_node.chain.decode import MalformedHeader, parse_header
from edge_node.chain.events import SwapV3Event, SyncEvent
from edge_node.control import ResumeRefused
from edge_node.execution import journal
from edge_node.health import Health, HealthInputs, evaluate
from edge_node.ingest.assembler import BlockAssembler
from edge_node.ingest.follower import Follower, Rpc
from edge_node.ingest.listener import Listener
from edge_node.market.book import BlockCommit, MarketBook, Rollback
from edge_node.market.candles import interval_seconds
from edge_node.market.pools import PoolInfo
from edge_node.rpc.errors import EndpointMisconfigured, ResponseInvalid
from edge_node.store import reader
from edge_node.store.sql import upsert
from edge_node.store.writer import (
    AuditOp,
    CommitOp,
    RegisterPoolsOp,
    RollbackOp,
    StoreWriter,
    database_unavailable,
)
from edge_node.telemetry import Metrics, as_json, registry_for
from edge_node.trading import TradingDesk
from shared.config import CANDLE_INTERVALS, ConfigError, NodeConfig
from shared.db import schema
from shared.db.engine import create_engine, ensure_schema, redact_url

log = logging.getLogger(__name__)

SHUTDOWN_FLUSH_S = 10.0


class FatalError(Exception):
    """The node cannot continue; the message says what the operator must do."""


def checkpoint_name(chain_id: int) -> str:
    return f"listener:{chain_id}"


class EdgeNode:
    def __init__(
        self,
        cfg: NodeConfig,
        *,
        websocket: bool | None = None,
        live: bool = False,
        config_path: Path | None = None,
        ssm_client: Any | None = None,
        secrets_client: Any | None = None,
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
        self.engine: Engine = create_engine(cfg.store.url)
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
        )
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
        key = f"chain.{self.cfg.chain.chain_id}.genesis_hash"
        with self.engine.begin() as conn:
            row = conn.execute(
                select(schema.system_config.c.value).where(schema.system_config.c.key == key)
            ).first()
            if row is not None:
                return str(row.value)
            upsert(
                conn,
                schema.system_config,
                [{"key": key, "value": seen, "updated_by": "edge-node"}],
                ("key",),
            )
        return seen

    def _resume(self) -> None:
        ensure_schema(self.engine, self.cfg.store.auto_migrate)
        state = reader.load_resume_state(
            self.engine,
            self.cfg.chain.chain_id,
            checkpoint_name(self.cfg.chain.chain_id),
            self.interval_specs,
        )
        if state.head is not None:
            self.book.restore(state.head, state.pools, state.recent)
            self.writer.stats.committed_block = state.head.number
            self.writer.stats.committed_hash = state.head.hash
            log.info(
                "resuming after block %d (%s), %d blocks of undo history",
                state.head.number,
                state.head.hash[:10],
                len(state.recent),
            )
        else:
            log.info(
                "no checkpoint in the store: starting from %s",
                self.cfg.chain.start_block
                if self.cfg.chain.start_block is not None
                else f"{self.cfg.chain.reorg_window} blocks below the current head",
            )

    # --- running --------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
        token = self.cfg.api_token()
        if not token:
            raise ConfigError(
                "config", ["api.token: required (set it in the file or in EDGE_API_TOKEN)"]
            )
        log.info(
            "edge node %s: chain %s (id %d), %d pools, store %s, %s mode",
            __version__,
            self.cfg.chain.name,
            self.cfg.chain.chain_id,
            len(self.pool_infos),
            redact_url(self.cfg.store.url),
            "websocket" if self.websocket else "HTTP polling",
        )
        await asyncio.to_thread(self._resume)
        if self.desk is not None:
            # Before anything starts: a missing key or a wrong owner ends the start cleanly.
            await self.desk.prepare()
            self.desk.install_metrics()
        self.writer.start()
        self.writer.submit(RegisterPoolsOp(self.pool_infos))
        self.api = ApiServer(build_app(self, token), self.cfg.api.host, self.cfg.api.port)
        await self.api.start()
        # The listener and the desk stop after the drain, not at the first signal: in-flight
        # transactions still need blocks and receipts to settle.
        inner_stop = asyncio.Event()
        listener = asyncio.create_task(self.listener.run(inner_stop), name="listener")
        desk = (
            asyncio.create_task(self.desk.run(inner_stop), name="trading")
            if self.desk is not None
            else None
        )
        if ready is not None:
            ready.set()
        failure: BaseException | None = None
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.5)
                if listener.done():
                    failure = listener.exception() or FatalError("listener stopped")
                    break
                if desk is not None and desk.done():
                    # Without it the stop flags are not polled: never keep running so.
                    failure = desk.exception() or FatalError("trading task stopped")
                    break
                if self.writer.failed is not None:
                    failure = FatalError(f"store write failed: {self.writer.stats.last_error}")
                    break
            if failure is None and self.desk is not None:
                drained = await self.desk.drain()
                if not drained:
                    log.warning("shutting down with transactions still pending (journaled)")
        finally:
            inner_stop.set()
            for task in (listener, desk):
                if task is None:
                    continue
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.desk is not None:
                await self.desk.close()
            flushed = await asyncio.to_thread(self.writer.stop, SHUTDOWN_FLUSH_S)
            if not flushed:
                log.warning(
                    "store not fully written at shutdown; the next start replays from block %s",
                    self.writer.stats.committed_block,
                )
            await self.api.stop()
            self.engine.dispose()
        if failure is not None:
            raise failure

    # --- views for the API and the CLI ----------------------------------------------------------

    def _install_sources(self) -> None:
        s = self.metrics.sources
        s["health"] = lambda: 1.0 if self.health().ok else 0.0
        s["swaps"] = lambda: self.book.counters.swaps
        s["price_updates"] = lambda: self.book.counters.price_updates
        s["last_block"] = lambda: self.book.head.number if self.book.head else None
        s["last_block_age"] = lambda: self.health().block_age_s
        s["queue"] = lambda: self.writer.queue_depth()
        s["db_errors"] = lambda: self.writer.stats.db_errors
        s["committed_block"] = lambda: self.writer.stats.committed_block

    def health(self) -> Health:
        head = self.book.head
        return evaluate(
            HealthInputs(
                now=time.time(),
                last_block_time=head.timestamp if head and head.timestamp else None,
                max_block_age_s=self.cfg.health.max_block_age_s,
                connected=self.listener.status.active_endpoint is not None,
                store_failed=self.writer.stats.last_error if self.writer.failed else None,
                store_retrying_since=self.writer.stats.retrying_since,
                listener_fatal=self.listener.status.fatal,
                all_endpoints_refused=self.listener.all_refused(),
            )
        )

    def health_ok(self) -> bool:
        return self.health().ok

    def health_detail(self) -> dict[str, Any]:
        h = self.health()
        head = self.book.head
        ws = self.writer.stats
        return {
            "status": "ok" if h.ok else "not ok",
            "reasons": list(h.reasons),
            "checks": h.checks,
            "version": __version__,
            "uptime_seconds": round(time.time() - self._started, 1),
            "mode": "websocket" if self.websocket else "polling",
            "chain": {
                "name": self.cfg.chain.name,
                "chain_id": self.cfg.chain.chain_id,
                "last_processed_block": head.number if head else None,
                "last_processed_hash": head.hash if head else None,
                "last_block_age_seconds": None
                if h.block_age_s is None
                else round(h.block_age_s, 1),
                "chain_head": self.follower.chain_head,
                "head_lag_blocks": self.metrics.head_lag_blocks,
                "reorgs": self.metrics.reorgs,
            },
            "endpoints": self.listener.endpoint_report(),
            "store": {
                "url": redact_url(self.cfg.store.url),
                "committed_block": ws.committed_block,
                "queue": self.writer.queue_depth(),
                "db_errors": ws.db_errors,
                "last_error": ws.last_error,
                "retrying_since": ws.retrying_since,
            },
            "trading": self.desk.status() if self.desk is not None else None,
            "counters": {
                "swaps": self.book.counters.swaps,
                "price_updates": self.book.counters.price_updates,
                "blocks": self.book.counters.blocks,
                "market_data_errors": dict(self.metrics.market_data_errors),
                "subscription_logs": self.assembler.received,
            },
        }

    def metrics_json(self) -> dict[str, Any]:
        return as_json(self.registry)

    def metrics_registry(self) -> Any:
        return self.registry

    def intervals(self) -> list[str]:
        return [name for name, _ in self.interval_specs]

    def find_pool(self, pair: str) -> str | None:
        p = pair.lower()
        for info in self.pool_infos:
            if info.name.lower() == p or info.address == p:
                return info.address
        return None

    def pools_detail(self) -> list[dict[str, Any]]:
        out = []
        for info in self.pool_infos:
            rec = self.book.pools[info.address]
            out.append(
                {
                    "name": info.name,
                    "address": info.address,
                    "kind": info.kind,
                    "base": info.base,
                    "quote": info.quote,
                    "price": rec.state.price,
                    "live_price": self.live_price(info.address),
                    "state_block": rec.state.block,
                    "reserve0": str(rec.state.reserve0),
                    "reserve1": str(rec.state.reserve1),
                }
            )
        return out

    # --- trading surfaces (the API and the CLI call these; see edge_node.control) ------------

    def _desk(self) -> TradingDesk:
        if self.desk is None:
            raise NotTrading("this node has no [strategy] configured")
        return self.desk

    async def admin(self, action: str, actor: str, reason: str) -> dict[str, Any]:
        desk = self._desk()
        started = time.time()
        service = desk.control_service
        if action == "pause":
            t = await service.pause(actor, reason)
        elif action == "emergency-stop":
            t = await service.emergency_stop(actor, reason)
        elif action == "resume":
            try:
                t = await service.resume(actor, reason)
            except ResumeRefused as err:
                raise ActionRefused(str(err)) from None
            desk.risk.reset_failures()
        else:
            raise ActionRefused(f"unknown action {action}")
        out: dict[str, Any] = {
            "state": desk.control.state.value,
            "changed": t is not None,
            # Signing stops at the transition, before the flags are persisted: this is the
            # latency from the request to the moment nothing more can be signed.
            "halted_in_ms": round((t.at - started) * 1000, 3) if t is not None else 0.0,
        }
        if action == "emergency-stop" and desk.trader is not None:
            out["exposure"] = desk.trader.exposure()
        return out

    async def reload_strategy(self) -> dict[str, Any]:
        return await asyncio.to_thread(self._desk().reload)

    async def trades(self, limit: int, mode: str | None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            journal.trades, self.engine, self.cfg.chain.chain_id, limit, mode
        )

    async def daily_summary(self, day: str) -> dict[str, Any]:
        names = {p.address: p.name for p in self.pool_infos}
        return await asyncio.to_thread(
            journal.daily_summary, self.engine, self.cfg.chain.chain_id, day, names
        )

    def live_price(self, pool: str) -> float | None:
        """The price implied by the newest state event received for the pool, confirmed or
        not (the book's price if nothing newer arrived)."""
        rec = self.book.pools[pool]
        ev = self.assembler.latest_state(pool, (rec.state.block, rec.state.log_index))
        if isinstance(ev, SyncEvent):
            return rec.scale.from_reserves(ev.reserve0, ev.reserve1)
        if isinstance(ev, SwapV3Event):
            return rec.scale.from_sqrt_price(ev.sqrt_price_x96)
        return rec.state.price

    async def candles(self, pool: str, interval: str, limit: int) -> list[dict[str, Any]]:
        rows = await asyncio.to_thread(
            reader.candles, self.engine, self.cfg.chain.chain_id, pool, interval, limit
        )
        # The store lags the book by a write; the book's current candle is the freshest.
        idx = self.intervals().index(interval)
        current = self.book.pools[pool].candles[idx]
        head = self.book.head
        if current is not None and head is not None:
            fresh = {
                "open_time": current.open_time,
                "open": current.open,
                "high": current.high,
                "low": current.low,
                "close": current.close,
                "volume_base": current.volume_base,
                "volume_quote": current.volume_quote,
                "trades": current.trades,
                "closed": current.closed_at(head.timestamp),
            }
            if rows and rows[-1]["open_time"] == current.open_time:
                rows[-1] = fresh
            elif not rows or rows[-1]["open_time"] < current.open_time:
                rows.append(fresh)
            for r in rows:
                if not r["closed"] and r["open_time"] + _seconds(interval) <= head.timestamp:
                    r["closed"] = True
        return rows[-limit:]


def _seconds(interval: str) -> int:
    return CANDLE_INTERVALS[interval]
