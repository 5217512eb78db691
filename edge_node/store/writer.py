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

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from edge_node.store.batches import BatchSql, CommitOp, Op, WriterStats

log = logging.getLogger(__name__)


def database_unavailable(err: BaseException) -> bool:
    """The error says the database is gone for now (retry later), not that the query is wrong."""
    if isinstance(err, OperationalError | DisconnectionError):
        return True
    return isinstance(err, DBAPIError) and bool(err.connection_invalidated)


@dataclass
class StoreWriter(BatchSql):
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
