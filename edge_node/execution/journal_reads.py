"""What the journal reads back: the open transactions a restart reconciles with the chain, the
pools of trades, the risk tally before a restart, and every nonce signed for. (The writes, and
what the rows mean: ``execution.journal``.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, select

from shared.db import schema

OPEN_STATUSES = ("signed", "broadcast")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    id: int
    nonce: int
    tx_hash: str
    raw_tx: str
    kind: str
    trade_id: int | None
    gas_price: int
    status: str
    broadcasts: int
    priority_fee: int | None = None


class JournalReads:
    """The journal's queries; ``Journal`` adds the writes (and owns the engine)."""

    engine: Engine
    chain_id: int
    sender: str

    def open_entries(self) -> list[JournalEntry]:
        t = schema.tx_journal
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t)
                .where(
                    t.c.chain_id == self.chain_id,
                    t.c.sender == self.sender,
                    t.c.status.in_(OPEN_STATUSES),
                )
                .order_by(t.c.nonce, t.c.id)
            ).all()
        return [
            JournalEntry(
                r.id,
                r.nonce,
                r.tx_hash,
                r.raw_tx,
                r.kind,
                r.trade_id,
                r.gas_price,
                r.status,
                r.broadcasts,
                None if r.priority_fee is None else int(r.priority_fee),
            )
            for r in rows
        ]

    def trade_pools(self, trade_ids: list[int]) -> dict[int, tuple[str, str]]:
        """Trade id -> (pool bought in, pool sold in)."""
        t = schema.trades
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.id, t.c.pool_buy, t.c.pool_sell).where(t.c.id.in_(trade_ids))
            ).all()
        return {int(r.id): (r.pool_buy, r.pool_sell) for r in rows}

    def risk_state(self, now: float) -> tuple[int, int]:
        """What the risk limits counted before a restart: today's (UTC) realised net of the
        live trades settled so far (their profit less their gas, a cancelled trade's being
        its cancel's) and the gas of the self-transfers that filled a nonce with no trade;
        and how many of the latest settled trades failed in a row (a cancelled trade neither
        breaks nor extends a streak)."""
        t = schema.trades
        j = schema.tx_journal
        start = datetime.fromtimestamp(now - now % 86_400, UTC)
        settled = ("mined", "reverted", "cancelled")
        with self.engine.connect() as conn:
            today = conn.execute(
                select(t.c.profit, t.c.gas_cost).where(
                    t.c.chain_id == self.chain_id,
                    t.c.mode == "live",
                    t.c.status.in_(settled),
                    t.c.updated_at >= start,
                )
            ).all()
            latest = conn.execute(
                select(t.c.status)
                .where(
                    t.c.chain_id == self.chain_id,
                    t.c.mode == "live",
                    t.c.status.in_(settled),
                )
                .order_by(t.c.updated_at.desc(), t.c.id.desc())
                .limit(1000)
            ).all()
            fills = conn.execute(
                select(j.c.gas_used, j.c.effective_gas_price).where(
                    j.c.chain_id == self.chain_id,
                    j.c.sender == self.sender,
                    j.c.kind == "cancel",
                    j.c.trade_id.is_(None),
                    j.c.status.in_(("mined", "reverted")),
                    j.c.settled_at >= start,
                )
            ).all()
        streak = 0
        for row in latest:
            if row.status == "cancelled":
                continue
            if row.status != "reverted":
                break
            streak += 1
        # Summed here: 256-bit amounts are text in SQLite, where SQL arithmetic would round.
        net = sum(int(r.profit or 0) - int(r.gas_cost or 0) for r in today)
        net -= sum(int(r.gas_used or 0) * int(r.effective_gas_price or 0) for r in fills)
        return net, streak

    def nonces(self) -> list[int]:
        """Every nonce the journal ever signed for (tests check none is reused or skipped)."""
        t = schema.tx_journal
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.c.nonce)
                .where(t.c.chain_id == self.chain_id, t.c.sender == self.sender)
                .distinct()
                .order_by(t.c.nonce)
            ).all()
        return [int(r.nonce) for r in rows]
