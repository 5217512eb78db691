"""Reads from the store: the state to resume from, candles and status for the API and CLI.

Every function takes an Engine and is synchronous; the async side calls them through
``asyncio.to_thread`` so a slow query never blocks the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, func, select

from edge_node.chain.events import BlockHeader
from edge_node.market.book_records import AppliedBlock, PoolSnapshot
from edge_node.store import rows
from shared.db import schema


@dataclass(slots=True)
class ResumeState:
    head: BlockHeader | None
    pools: dict[str, PoolSnapshot]
    recent: list[AppliedBlock]


def checkpoint(engine: Engine, name: str) -> Any | None:
    with engine.connect() as conn:
        return conn.execute(
            select(schema.checkpoints).where(schema.checkpoints.c.name == name)
        ).first()


def load_resume_state(
    engine: Engine,
    chain_id: int,
    checkpoint_name: str,
    intervals: list[tuple[str, int]],
) -> ResumeState:
    """Everything the market book needs to continue exactly where the store left off."""
    t_pools, t_candles, t_blocks = schema.pools, schema.candles, schema.blocks
    with engine.connect() as conn:
        cp = conn.execute(
            select(schema.checkpoints).where(schema.checkpoints.c.name == checkpoint_name)
        ).first()
        if cp is None:
            return ResumeState(None, {}, [])
        latest = (
            select(
                t_candles.c.pool,
                t_candles.c.interval,
                func.max(t_candles.c.open_time).label("open_time"),
            )
            .where(t_candles.c.chain_id == chain_id)
            .group_by(t_candles.c.pool, t_candles.c.interval)
            .subquery()
        )
        candle_rows = conn.execute(
            select(t_candles).join(
                latest,
                and_(
                    t_candles.c.pool == latest.c.pool,
                    t_candles.c.interval == latest.c.interval,
                    t_candles.c.open_time == latest.c.open_time,
                ),
            )
        ).all()
        pool_rows = conn.execute(select(t_pools).where(t_pools.c.chain_id == chain_id)).all()
        block_rows = conn.execute(
            select(t_blocks)
            .where(t_blocks.c.chain_id == chain_id, t_blocks.c.number <= cp.block_number)
            .order_by(t_blocks.c.number)
        ).all()
    index = {name: i for i, (name, _) in enumerate(intervals)}
    by_pool: dict[str, dict[int, Any]] = {}
    for r in candle_rows:
        if r.chain_id == chain_id and r.interval in index:
            by_pool.setdefault(r.pool, {})[index[r.interval]] = r
    snapshots = {
        r.address: rows.snapshot_from_rows(r, by_pool.get(r.address, {}), intervals)
        for r in pool_rows
    }
    recent = [rows.applied_block_from_row(r) for r in block_rows]
    parent = (
        recent[-1].header.parent_hash
        if recent and recent[-1].header.number == (cp.block_number)
        else ""
    )
    head = BlockHeader(cp.block_number, cp.block_hash, parent, cp.block_time)
    return ResumeState(head, snapshots, recent)


def candles(
    engine: Engine, chain_id: int, pool: str, interval: str, limit: int
) -> list[dict[str, Any]]:
    """The newest ``limit`` candles of a pool, oldest first."""
    t = schema.candles
    with engine.connect() as conn:
        result = conn.execute(
            select(t)
            .where(t.c.chain_id == chain_id, t.c.pool == pool, t.c.interval == interval)
            .order_by(t.c.open_time.desc())
            .limit(limit)
        ).all()
    out = [
        {
            "open_time": r.open_time,
            "open": r.open,
            "high": r.high,
            "low": r.low,
            "close": r.close,
            "volume_base": r.volume_base,
            "volume_quote": r.volume_quote,
            "trades": r.trades,
            "closed": bool(r.closed),
        }
        for r in result
    ]
    out.reverse()
    return out


def swap_keys(engine: Engine, chain_id: int) -> set[tuple[str, int]]:
    """Every stored swap's (block hash, log index): what tests compare with the chain."""
    t = schema.swaps
    with engine.connect() as conn:
        result = conn.execute(
            select(t.c.block_hash, t.c.log_index).where(t.c.chain_id == chain_id)
        ).all()
    return {(r.block_hash, r.log_index) for r in result}


def counts(engine: Engine, chain_id: int) -> dict[str, int]:
    with engine.connect() as conn:
        swaps = conn.execute(
            select(func.count())
            .select_from(schema.swaps)
            .where(schema.swaps.c.chain_id == chain_id)
        ).scalar_one()
        candles_n = conn.execute(
            select(func.count())
            .select_from(schema.candles)
            .where(schema.candles.c.chain_id == chain_id)
        ).scalar_one()
        closed = conn.execute(
            select(func.count())
            .select_from(schema.candles)
            .where(schema.candles.c.chain_id == chain_id, schema.candles.c.closed.is_(True))
        ).scalar_one()
    return {"swaps": int(swaps), "candles": int(candles_n), "closed_candles": int(closed)}
