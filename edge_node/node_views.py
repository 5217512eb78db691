"""What the node shows the API, the CLI and the metrics: health, status, pools, candles, trades.

Read-only views over the parts ``EdgeNode`` wires together (``edge_node.service``); nothing
here changes the node's state.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import Engine

from edge_node import __version__
from edge_node.chain.events import SwapV3Event, SyncEvent
from edge_node.health import Health, HealthInputs, evaluate
from edge_node.ingest.assembler import BlockAssembler
from edge_node.ingest.follower import Follower
from edge_node.ingest.listener import Listener
from edge_node.market.book import MarketBook
from edge_node.market.pools import PoolInfo
from edge_node.node_secrets import store_shown
from edge_node.store import reader
from edge_node.store.writer import StoreWriter
from edge_node.telemetry import Metrics, as_json
from edge_node.trading import TradingDesk
from shared import metrics as names
from shared.config import CANDLE_INTERVALS, NodeConfig
from shared.reports import queries as journal


class NodeViews:
    """Mixed into ``EdgeNode``, which sets these attributes."""

    cfg: NodeConfig
    websocket: bool
    metrics: Metrics
    registry: Any
    pool_infos: list[PoolInfo]
    interval_specs: list[tuple[str, int]]
    book: MarketBook
    engine: Engine
    writer: StoreWriter
    assembler: BlockAssembler
    follower: Follower
    listener: Listener
    desk: TradingDesk | None
    _started: float

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
        s[names.STORE_DATABASE_UP.name] = lambda: (
            0.0 if self.writer.failed or self.writer.stats.retrying_since else 1.0
        )
        m = self.metrics
        m.at_zero(
            names.RPC_REQUESTS_TOTAL,
            [(e.name, outcome) for e in self.cfg.endpoints for outcome in names.RPC_OUTCOMES],
        )
        m.at_zero(names.MARKET_DATA_ERRORS_TOTAL, [(k,) for k in names.MARKET_DATA_ERROR_KINDS])
        m.at_zero(names.NODE_ALERTS_TOTAL, [(k,) for k in names.NODE_ALERT_OUTCOMES])

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
                "url": store_shown(self.cfg, self.engine),
                "committed_block": ws.committed_block,
                "queue": self.writer.queue_depth(),
                "db_errors": ws.db_errors,
                "last_error": ws.last_error,
                "retrying_since": ws.retrying_since,
            },
            "market": self._market_freshness(),
            "trading": self.desk.status() if self.desk is not None else None,
            "counters": {
                "swaps": self.book.counters.swaps,
                "price_updates": self.book.counters.price_updates,
                "blocks": self.book.counters.blocks,
                "market_data_errors": dict(self.metrics.market_data_errors),
                "subscription_logs": self.assembler.received,
            },
        }

    def _market_freshness(self) -> dict[str, Any]:
        # What the external probe reads to tell a stale price (seed 000: above 300 s): the chain
        # time of the last price change, and its age by this host's clock.
        at = self.book.counters.last_price_update_time
        return {
            "last_price_update_time": at,
            "last_price_update_age_seconds": None
            if at is None
            else round(max(0.0, time.time() - at), 1),
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

    async def trades(self, limit: int, mode: str | None) -> list[dict[str, Any]]:
        return await asyncio.to_thread(
            journal.trades, self.engine, self.cfg.chain.chain_id, limit, mode
        )

    async def daily_summary(self, day: str) -> dict[str, Any]:
        names = {p.address: p.name for p in self.pool_infos}
        return await asyncio.to_thread(
            journal.daily_summary, self.engine, self.cfg.chain.chain_id, day, names
        )


def _seconds(interval: str) -> int:
    return CANDLE_INTERVALS[interval]
