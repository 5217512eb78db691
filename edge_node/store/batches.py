"""What the store writer is given and what it writes: the operations queued to it, and the SQL
of the one transaction that writes a batch of them (consecutive block commits together; a
rollback, pools registered or an audit row alone). The thread, its queue and its retries:
``store.writer``."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, bindparam, delete, update

from edge_node.market.book_records import BlockCommit, Rollback
from edge_node.market.pools import PoolInfo
from edge_node.store import rows
from edge_node.store.sql import insert_ignore, upsert
from shared.db import schema

log = logging.getLogger(__name__)


@dataclass(slots=True)
class CommitOp:
    commit: BlockCommit


@dataclass(slots=True)
class RollbackOp:
    rollback: Rollback


@dataclass(slots=True)
class RegisterPoolsOp:
    pools: list[PoolInfo]


@dataclass(slots=True)
class AuditOp:
    actor: str
    action: str
    detail: str


Op = CommitOp | RollbackOp | RegisterPoolsOp | AuditOp


@dataclass(slots=True)
class WriterStats:
    committed_block: int | None = None
    committed_hash: str | None = None
    batches: int = 0
    blocks_written: int = 0
    swaps_written: int = 0
    db_errors: int = 0
    malformed_identifiers: int = 0
    last_error: str | None = None
    last_commit_wall: float | None = None
    retrying_since: float | None = None


class BatchSql:
    """The SQL of one write transaction; ``StoreWriter`` runs it on its thread."""

    engine: Engine
    chain_id: int
    checkpoint_name: str
    intervals: list[tuple[str, int]]
    window: int
    stats: WriterStats
    on_malformed: Callable[[str], None] | None

    def _write(self, batch: list[Op]) -> None:
        with self.engine.begin() as conn:
            first = batch[0]
            if isinstance(first, CommitOp):
                self._write_commits(conn, [op.commit for op in batch if isinstance(op, CommitOp)])
            elif isinstance(first, RollbackOp):
                self._write_rollback(conn, first.rollback)
            elif isinstance(first, RegisterPoolsOp):
                upsert(
                    conn,
                    schema.pools,
                    [rows.pool_info_row(self.chain_id, p) for p in first.pools],
                    ("chain_id", "address"),
                )
            else:
                conn.execute(
                    schema.audit_log.insert().values(
                        actor=first.actor, action=first.action, detail=first.detail
                    )
                )

    def _write_commits(self, conn: Any, commits: list[BlockCommit]) -> None:
        cid = self.chain_id
        last = commits[-1].header
        swaps = []
        for c in commits:
            for s in c.swaps:
                bad = rows.malformed_identifiers(s)
                if bad:
                    # Stored as received (the event is real: its numbers were validated), but
                    # counted and reported, since a node sending this is misbehaving.
                    self.stats.malformed_identifiers += 1
                    if self.on_malformed is not None:
                        self.on_malformed("malformed_identifier")
                    log.warning(
                        "block %d log %d: malformed %s", c.header.number, s[0].log_index, bad
                    )
                swaps.append(rows.swap_row(cid, s, c.header.timestamp))
        pools: dict[str, dict[str, Any]] = {}
        candles: dict[tuple[str, str, int], dict[str, Any]] = {}
        for c in commits:
            ts = c.header.timestamp
            for address, snap in c.pools.items():
                pools[address] = {
                    "chain_id": cid,
                    "address": address,
                    **rows.pool_state_values(snap.state),
                }
                for (name, _), candle in zip(self.intervals, snap.candles, strict=True):
                    if candle is not None:
                        candles[(address, name, candle.open_time)] = rows.candle_row(
                            cid, address, name, candle, ts
                        )
        insert_ignore(conn, schema.swaps, swaps, ("chain_id", "block_hash", "log_index"))
        if pools:
            self._update_pool_states(conn, list(pools.values()))
        upsert(
            conn,
            schema.candles,
            list(candles.values()),
            ("chain_id", "pool", "interval", "open_time"),
        )
        upsert(
            conn,
            schema.blocks,
            [
                {
                    "chain_id": cid,
                    "number": c.header.number,
                    "hash": c.header.hash,
                    "parent_hash": c.header.parent_hash,
                    "timestamp": c.header.timestamp,
                    "undo": rows.encode_undo(c.undo),
                }
                for c in commits
            ],
            ("chain_id", "number"),
        )
        conn.execute(
            delete(schema.blocks).where(
                schema.blocks.c.chain_id == cid,
                schema.blocks.c.number <= last.number - self.window,
            )
        )
        self._close_candles(conn, last.timestamp)
        self._set_checkpoint(conn, last.number, last.hash, last.timestamp)
        self.stats.batches += 1
        self.stats.blocks_written += len(commits)
        self.stats.swaps_written += len(swaps)
        self.stats.committed_block = last.number
        self.stats.committed_hash = last.hash
        self.stats.last_commit_wall = time.time()

    def _update_pool_states(self, conn: Any, values: list[dict[str, Any]]) -> None:
        # Pools rows exist (RegisterPoolsOp runs first); only their state columns change.
        t = schema.pools
        stmt = update(t).where(
            t.c.chain_id == bindparam("b_chain_id"), t.c.address == bindparam("b_address")
        )
        conn.execute(
            stmt,
            [
                {
                    "b_chain_id": v["chain_id"],
                    "b_address": v["address"],
                    **{k: x for k, x in v.items() if k not in ("chain_id", "address")},
                }
                for v in values
            ],
        )

    def _close_candles(self, conn: Any, chain_time: int) -> None:
        t = schema.candles
        for name, seconds in self.intervals:
            conn.execute(
                update(t)
                .where(
                    t.c.chain_id == self.chain_id,
                    t.c.closed.is_(False),
                    t.c.interval == name,
                    t.c.open_time <= chain_time - seconds,
                )
                .values(closed=True)
            )

    def _set_checkpoint(self, conn: Any, number: int, bhash: str, ts: int) -> None:
        upsert(
            conn,
            schema.checkpoints,
            [
                {
                    "name": self.checkpoint_name,
                    "chain_id": self.chain_id,
                    "block_number": number,
                    "block_hash": bhash,
                    "block_time": ts,
                }
            ],
            ("name",),
        )

    def _write_rollback(self, conn: Any, rb: Rollback) -> None:
        cid, target = self.chain_id, rb.header
        conn.execute(
            delete(schema.swaps).where(
                schema.swaps.c.chain_id == cid, schema.swaps.c.block_number > target.number
            )
        )
        conn.execute(
            delete(schema.blocks).where(
                schema.blocks.c.chain_id == cid, schema.blocks.c.number > target.number
            )
        )
        t = schema.candles
        restored: list[dict[str, Any]] = []
        for address, snap in rb.pools.items():
            self._update_pool_states(
                conn, [{"chain_id": cid, "address": address, **rows.pool_state_values(snap.state)}]
            )
            for (name, _), candle in zip(self.intervals, snap.candles, strict=True):
                # Candles opened by rolled-back blocks disappear; the one current at the
                # ancestor is restored to its value then.
                keep_up_to = candle.open_time if candle is not None else -1
                conn.execute(
                    delete(t).where(
                        t.c.chain_id == cid,
                        t.c.pool == address,
                        t.c.interval == name,
                        t.c.open_time > keep_up_to,
                    )
                )
                if candle is not None:
                    restored.append(rows.candle_row(cid, address, name, candle, target.timestamp))
        upsert(conn, t, restored, ("chain_id", "pool", "interval", "open_time"))
        for name, seconds in self.intervals:
            conn.execute(
                update(t)
                .where(
                    t.c.chain_id == cid,
                    t.c.closed.is_(True),
                    t.c.interval == name,
                    t.c.open_time > target.timestamp - seconds,
                )
                .values(closed=False)
            )
        self._set_checkpoint(conn, target.number, target.hash, target.timestamp)
        self.stats.committed_block = target.number
        self.stats.committed_hash = target.hash
