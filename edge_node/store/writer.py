"""The store writer: one thread that writes what the market book produced, off the hot path.

Each block's swaps, the touched pools' state and candles, the block's undo record and the
checkpoint are written in one transaction, so the checkpoint never runs ahead of the data: after
a crash, replaying from the checkpoint reproduces exactly what was lost, and the idempotent
inserts make any overlap harmless. Consecutive blocks are coalesced into one transaction.

A database that goes away is retried with backoff until it is back; nothing is dropped, the
queue of commits just grows (bounded: beyond ``queue_max`` the follower waits, and health
reports the lag). Errors that retrying cannot fix (a schema mismatch, a constraint) stop the
writer and are reported through ``failed``; the node then shuts down with that error.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, bindparam, delete, update
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from edge_node.market.book import BlockCommit, Rollback
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


def database_unavailable(err: BaseException) -> bool:
    """The error says the database is gone for now (retry later), not that the query is wrong."""
    if isinstance(err, OperationalError | DisconnectionError):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


@dataclass
class StoreWriter:
    engine: Engine
    chain_id: int
    checkpoint_name: str
    intervals: list[tuple[str, int]]
    window: int
    batch_max_blocks: int = 500
    # A transaction's row dicts cost memory too: bound a batch by events as well as blocks.
    batch_max_events: int = 10_000
    queue_max: int = 20_000
    # Memory, not block count, is what a backlog costs: bound the queued events too.
    queue_max_events: int = 20_000
    retry_initial_s: float = 0.2
    retry_max_s: float = 5.0
    stats: WriterStats = field(default_factory=WriterStats)
    failed: BaseException | None = None
    # Told about data problems found while writing (e.g. metrics.market_data_error).
    on_malformed: Callable[[str], None] | None = None
    # Told how long each write transaction took (seconds), failed attempts included.
    on_write_timed: Callable[[float], None] | None = None

    def __post_init__(self) -> None:
        self._ops: deque[Op] = deque()
        self._queued_events = 0
        self._cv = threading.Condition()
        self._stop = False
        self._abandon = False
        self._busy = False
        self._thread = threading.Thread(target=self._run, name="store-writer", daemon=True)

    # --- the producer side (event loop thread) ------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, op: Op) -> None:
        if self.failed is not None:
            raise RuntimeError("store writer has failed") from self.failed
        with self._cv:
            self._ops.append(op)
            if isinstance(op, CommitOp):
                self._queued_events += op.commit.events
            self._cv.notify()

    async def submit_async(self, op: Op) -> None:
        """Submit, waiting first while the queue is full (backpressure on the follower).

        Polling, because the writer is a thread: it cannot set an asyncio.Event directly.
        """
        while self.queue_full() and self.failed is None:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        self.submit(op)

    def queue_depth(self) -> int:
        return len(self._ops)

    def queue_full(self) -> bool:
        return len(self._ops) >= self.queue_max or self._queued_events >= self.queue_max_events

    def flush(self, timeout: float) -> bool:
        """Wait until everything submitted is written; False if the deadline passed first."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while (self._ops or self._busy) and self.failed is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(min(left, 0.1))
        return self.failed is None

    def stop(self, timeout: float = 10.0) -> bool:
        """Write what is queued (bounded by ``timeout``) and stop the thread.

        Returns False if the queue could not be written in time (e.g. the database is down);
        that loses nothing: the store's checkpoint marks where the next start replays from.
        """
        deadline = time.monotonic() + timeout
        # Keep a second of the budget for the thread to notice and finish.
        flushed = self.flush(max(0.0, timeout - 1.0))
        with self._cv:
            self._stop = True
            self._abandon = not flushed
            self._cv.notify_all()
        self._thread.join(timeout=max(0.1, deadline - time.monotonic()))
        return flushed

    # --- the writer thread ----------------------------------------------------------------------

    def _next_batch(self) -> list[Op] | None:
        with self._cv:
            while not self._ops and not self._stop:
                self._cv.wait()
            if self._stop and (not self._ops or self._abandon):
                return None
            first = self._ops.popleft()
            batch: list[Op] = [first]
            if isinstance(first, CommitOp):
                events = first.commit.events
                while (
                    self._ops
                    and isinstance(self._ops[0], CommitOp)
                    and len(batch) < self.batch_max_blocks
                    and events < self.batch_max_events
                ):
                    nxt = self._ops.popleft()
                    assert isinstance(nxt, CommitOp)
                    events += nxt.commit.events
                    batch.append(nxt)
            self._queued_events -= sum(op.commit.events for op in batch if isinstance(op, CommitOp))
            self._busy = True
            return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            delay = self.retry_initial_s
            while True:
                try:
                    self._write_timed(batch)
                    self.stats.retrying_since = None
                    break
                except Exception as err:
                    self.stats.db_errors += 1
                    self.stats.last_error = f"{type(err).__name__}: {err}".splitlines()[0][:300]
                    if not database_unavailable(err):
                        log.error("store write failed permanently: %s", self.stats.last_error)
                        with self._cv:
                            self.failed = err
                            self._busy = False
                            self._cv.notify_all()
                        return
                    if self.stats.retrying_since is None:
                        self.stats.retrying_since = time.time()
                    log.warning(
                        "store unavailable (%s); retrying in %.1fs", self.stats.last_error, delay
                    )
                    with self._cv:
                        if not (self._stop and self._abandon):
                            self._cv.wait(delay)
                        if self._stop and self._abandon:
                            # Stopping without the database: the checkpoint marks where the
                            # next start replays from, so giving up here loses nothing.
                            self._busy = False
                            self._cv.notify_all()
                            return
                    delay = min(delay * 2, self.retry_max_s)
            with self._cv:
                self._busy = False
                self._cv.notify_all()

    def _write_timed(self, batch: list[Op]) -> None:
        started = time.perf_counter()
        try:
            self._write(batch)
        finally:
            if self.on_write_timed is not None:
                self.on_write_timed(time.perf_counter() - started)

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
