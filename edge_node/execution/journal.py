"""The transaction journal and the trade records, written synchronously and durably.

What the trader writes (the reports read these; definitions hold for both stores):

- ``trades.mode``: ``live`` or ``paper``: never summed together.
- ``trades.status``: paper: ``intended`` -> ``simulated`` | ``simulation_failed``; live:
  ``submitted`` (journaled; sent or about to be) -> ``mined`` | ``reverted`` (the trade's
  transaction, after ``execution.confirmations``) | ``cancelled`` (a cancelling self-transfer
  took its nonce: not a success, not a failure) | ``failed`` (``detail.error``:
  ``nonce_conflict``, or ``cancelled`` with ``stopped before broadcast``); either mode:
  ``refused`` (a risk limit said no; ``detail.limit`` names it; nothing was signed). A reorg
  puts a settled trade back to ``submitted``.
- ``trades.gas_cost``: wei, gas used x effective price of the transaction that took the nonce
  (the cancel's, for a cancelled trade); ``profit``: the executor's ``Arbitrage`` log.
- ``tx_journal``: every signed transaction (``kind`` trade | speedup | cancel; a cancel with no
  ``trade_id`` filled a nonce hole). ``status`` signed -> broadcast -> mined | reverted |
  replaced | failed; ``gas_used`` and ``effective_gas_price`` are set for the one mined,
  cancels included, so the gas of fills is in the journal too.

Unlike market data (batched by the store writer), these writes must be on disk before the node
acts on them: a signed transaction is journaled, in its own committed transaction, BEFORE it is
broadcast. After a crash at any point the journal therefore knows every nonce the node may
have used and the exact bytes it may have sent. The calls block; the trader runs them on one
dedicated thread, in order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event, select, update

from edge_node.execution.journal_reads import JournalReads
from shared.db import schema
from shared.db.credentials import attach, login_of
from shared.db.engine import create_engine


def _now() -> datetime:
    return datetime.now(UTC)


def _pk(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def durable_engine(engine: Engine) -> Engine:
    """An engine on the same database whose commits are durable (see ``create_engine``)."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine  # one in-memory database per connection: nothing to make durable
    durable = create_engine(url.render_as_string(hide_password=False), durable=True)
    login = login_of(engine)  # credentials from a rotating secret: the same for both engines
    return durable if login is None else attach(durable, login)


class Journal(JournalReads):
    """The trade journal's writes (its queries: ``JournalReads``). Its own engine is durable:
    a commit is on disk (SQLite ``synchronous=FULL``; PostgreSQL ``synchronous_commit=on``)
    when the call returns.
    """

    def __init__(self, engine: Engine, chain_id: int, sender: str) -> None:
        self.store_engine = engine  # rows nothing is sent on (refusals): not fsynced each
        self.engine = durable_engine(engine)
        self._own_engine = self.engine is not engine
        self.chain_id = chain_id
        self.sender = sender.lower()

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    def time_commits(self, observe: Callable[[float], None]) -> None:
        """Call ``observe(seconds)`` for every transaction of the journal's engine, from its
        begin to its commit (the fsync included: what a durable write costs the trader).

        Only on the journal's own engine: with an in-memory SQLite store the journal shares
        the store's engine, whose batches the store writer times already."""
        if not self._own_engine:
            return

        def begun(conn: Any) -> None:
            conn.info["journal_began"] = time.perf_counter()

        def committed(conn: Any) -> None:
            began = conn.info.pop("journal_began", None)
            if began is not None:
                observe(time.perf_counter() - began)

        event.listen(self.engine, "begin", begun)
        event.listen(self.engine, "commit", committed)

    # --- trades ---------------------------------------------------------------------------------

    def insert_trade(self, values: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(schema.trades.insert().values(chain_id=self.chain_id, **values))
            return _pk(result)

    def insert_refused(self, values: dict[str, Any]) -> None:
        """A trade a risk limit refused (status ``refused``): nothing was signed or sent, so
        it does not need the durable engine (and its fsync)."""
        with self.store_engine.begin() as conn:
            conn.execute(schema.trades.insert().values(chain_id=self.chain_id, **values))

    def update_trade(self, trade_id: int, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(schema.trades)
                .where(schema.trades.c.id == trade_id)
                .values(updated_at=_now(), **values)
            )

    def note_latency(self, trade_id: int, stages: dict[str, float]) -> None:
        """Merge the trade's measured latencies (seconds from its trigger to each stage) into
        its ``detail`` as ``latency_s``; the rest of the detail is kept."""
        t = schema.trades
        with self.engine.begin() as conn:
            raw = conn.execute(select(t.c.detail).where(t.c.id == trade_id)).scalar_one_or_none()
            try:
                detail = json.loads(raw) if raw else {}
            except ValueError:
                detail = {"unparsed": raw}
            if not isinstance(detail, dict):
                detail = {"value": detail}
            detail["latency_s"] = {k: round(v, 6) for k, v in stages.items()}
            conn.execute(update(t).where(t.c.id == trade_id).values(detail=json.dumps(detail)))

    # --- transactions ---------------------------------------------------------------------------

    def record(
        self,
        *,
        nonce: int,
        tx_hash: str,
        raw_tx: str,
        kind: str,
        gas_price: int,
        priority_fee: int | None = None,
        trade: dict[str, Any] | None = None,
        trade_id: int | None = None,
    ) -> tuple[int | None, int]:
        """Journal a signed transaction (and its trade, if new) in one committed transaction.

        Returns (trade id, journal id). Only after this returns may the bytes be broadcast.
        """
        with self.engine.begin() as conn:
            return self._insert(
                conn,
                nonce=nonce,
                tx_hash=tx_hash,
                raw_tx=raw_tx,
                kind=kind,
                gas_price=gas_price,
                priority_fee=priority_fee,
                trade=trade,
                trade_id=trade_id,
            )

    def _insert(
        self,
        conn: Any,
        *,
        nonce: int,
        tx_hash: str,
        raw_tx: str,
        kind: str,
        gas_price: int,
        priority_fee: int | None = None,
        trade: dict[str, Any] | None = None,
        trade_id: int | None = None,
    ) -> tuple[int | None, int]:
        if trade is not None:
            result = conn.execute(
                schema.trades.insert().values(
                    chain_id=self.chain_id, tx_hash=tx_hash, nonce=nonce, **trade
                )
            )
            trade_id = _pk(result)
        result = conn.execute(
            schema.tx_journal.insert().values(
                chain_id=self.chain_id,
                sender=self.sender,
                nonce=nonce,
                tx_hash=tx_hash,
                raw_tx=raw_tx,
                kind=kind,
                trade_id=trade_id,
                gas_price=gas_price,
                priority_fee=priority_fee,
                status="signed",
            )
        )
        return trade_id, _pk(result)

    def record_sent(
        self, record: dict[str, Any], error_class: str | None
    ) -> tuple[int | None, int]:
        """``record`` (see there) of a transaction already broadcast, in one commit: the
        store copy of a send-log entry."""
        with self.engine.begin() as conn:
            ids = self._insert(conn, **record)
            self._mark_broadcast(conn, record["tx_hash"], error_class)
        return ids

    def _update_tx(self, tx_hash: str, **values: Any) -> None:
        t = schema.tx_journal
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.chain_id == self.chain_id, t.c.tx_hash == tx_hash)
                .values(**values)
            )

    def mark_broadcast(self, tx_hash: str, error_class: str | None) -> None:
        with self.engine.begin() as conn:
            self._mark_broadcast(conn, tx_hash, error_class)

    def _mark_broadcast(self, conn: Any, tx_hash: str, error_class: str | None) -> None:
        t = schema.tx_journal
        conn.execute(
            update(t)
            .where(t.c.chain_id == self.chain_id, t.c.tx_hash == tx_hash)
            .values(
                status="broadcast",
                error_class=error_class,
                broadcasts=t.c.broadcasts + 1,
                broadcast_at=_now(),
            )
        )

    def settle(
        self,
        tx_hash: str,
        status: str,
        *,
        block_number: int | None = None,
        gas_used: int | None = None,
        effective_gas_price: int | None = None,
        error_class: str | None = None,
    ) -> None:
        self._update_tx(
            tx_hash,
            status=status,
            settled_at=_now(),
            block_number=block_number,
            gas_used=gas_used,
            effective_gas_price=effective_gas_price,
            error_class=error_class,
        )

    def import_send_log(
        self, signed: list[dict[str, Any]], sent: dict[str, str | None], stopped: set[str]
    ) -> int:
        """Copy into the store what the send log holds and the store does not (a crash or a
        failed copy came between them): trades journaled, maybe broadcast, maybe stopped.
        Returns how many were imported."""
        t = schema.tx_journal
        hashes = [r["tx_hash"] for r in signed]
        if not hashes:
            return 0
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.tx_hash, t.c.status).where(
                    t.c.chain_id == self.chain_id, t.c.tx_hash.in_(hashes)
                )
            ).all()
        have = {r.tx_hash: r.status for r in rows}
        imported = 0
        for rec in signed:
            tx_hash = rec["tx_hash"]
            if tx_hash not in have:
                trade_id, _ = self.record(**rec)
                imported += 1
                if tx_hash in stopped:
                    self.settle(tx_hash, "failed", error_class="stopped")
                    if trade_id is not None:
                        self.update_trade(
                            trade_id,
                            status="cancelled",
                            detail=json.dumps({"error": "stopped before broadcast"}),
                        )
                    continue
            if tx_hash in sent and have.get(tx_hash, "signed") == "signed":
                self.mark_broadcast(tx_hash, sent[tx_hash])
        return imported

    def unsettle(self, tx_hashes: list[str], trade_id: int | None) -> None:
        """A reorg removed the block that settled these transactions (one nonce's): they are
        open again, and so is their trade, in one committed transaction."""
        t = schema.tx_journal
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.chain_id == self.chain_id, t.c.tx_hash.in_(tx_hashes))
                .values(
                    status="broadcast",
                    settled_at=None,
                    block_number=None,
                    gas_used=None,
                    effective_gas_price=None,
                    error_class=None,
                )
            )
            if trade_id is not None:
                conn.execute(
                    update(schema.trades)
                    .where(schema.trades.c.id == trade_id)
                    .values(
                        updated_at=_now(),
                        status="submitted",
                        block_number=None,
                        profit=None,
                        gas_used=None,
                        gas_cost=None,
                    )
                )
