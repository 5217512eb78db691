"""What the prune may archive and delete, table by table, and what it never touches.

Never: ``candles`` (the price history reports and strategies read), ``pools``, ``checkpoints``,
``system_config``. Within the tables it prunes, never what the node still needs:
- ``swaps`` and ``blocks``: only below the checkpoint's block minus ``KEEP_BLOCKS`` (the largest
  reorg window the node can be configured with), so a rollback always finds its rows; a chain
  with no checkpoint keeps all of them;
- ``trades``: only settled ones (``SETTLED``: no pending trade is ever archived), created and
  last updated before the horizon;
- ``tx_journal``: only transactions no longer open (not ``signed``/``broadcast``) whose trade,
  if any, is settled.
The same condition selects a batch and guards its delete, so a row that stopped being eligible
in between is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, Table, and_, not_, or_, select

from shared.db import schema
from shared.reports.records import PENDING, SETTLED

# The largest ``chain.reorg_window`` the config accepts (shared/config/chain.py).
KEEP_BLOCKS = 1024
OPEN_TX = ("signed", "broadcast")


@dataclass(frozen=True, slots=True)
class Horizon:
    """Everything strictly older than ``at`` may go (subject to each table's guard)."""

    at: datetime
    # Chain id -> highest block number that may be pruned (checkpoint - KEEP_BLOCKS).
    safe_block: dict[int, int]

    @property
    def ts(self) -> int:
        return int(self.at.timestamp())


@dataclass(frozen=True, slots=True)
class Spec:
    table: Table
    key: tuple[str, ...]  # the columns that identify a row, in archive (and batch) order
    eligible: Callable[[Horizon], ColumnElement[bool]]
    day_of: Callable[[dict[str, Any]], datetime]  # which day partition a row goes to

    @property
    def name(self) -> str:
        return self.table.name

    def key_cols(self) -> list[Column[Any]]:
        return [self.table.c[k] for k in self.key]


def _epoch_day(col: str) -> Callable[[dict[str, Any]], datetime]:
    return lambda row: datetime.fromtimestamp(int(row[col]), UTC)


def _dt_day(col: str) -> Callable[[dict[str, Any]], datetime]:
    def day(row: dict[str, Any]) -> datetime:
        v: datetime = row[col]
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)

    return day


def _below_safe_block(chain: Column[Any], number: Column[Any], h: Horizon) -> ColumnElement[bool]:
    if not h.safe_block:
        return chain != chain  # always false: no checkpoint, nothing block-bound goes
    return or_(*(and_(chain == c, number <= b) for c, b in sorted(h.safe_block.items())))


def _swaps(h: Horizon) -> ColumnElement[bool]:
    s = schema.swaps
    return and_(s.c.block_time < h.ts, _below_safe_block(s.c.chain_id, s.c.block_number, h))


def _blocks(h: Horizon) -> ColumnElement[bool]:
    b = schema.blocks
    return and_(b.c.timestamp < h.ts, _below_safe_block(b.c.chain_id, b.c.number, h))


def _audit(h: Horizon) -> ColumnElement[bool]:
    return schema.audit_log.c.at < h.at


def _trades(h: Horizon) -> ColumnElement[bool]:
    t = schema.trades
    return and_(t.c.status.in_(sorted(SETTLED)), t.c.created_at < h.at, t.c.updated_at < h.at)


def _journal(h: Horizon) -> ColumnElement[bool]:
    j, t = schema.tx_journal, schema.trades
    open_trades = select(t.c.id).where(t.c.status.in_(sorted(PENDING)))
    return and_(
        j.c.created_at < h.at,
        not_(j.c.status.in_(OPEN_TX)),
        or_(j.c.trade_id.is_(None), j.c.trade_id.not_in(open_trades)),
    )


SPECS: tuple[Spec, ...] = (
    Spec(schema.swaps, ("id",), _swaps, _epoch_day("block_time")),
    Spec(schema.blocks, ("chain_id", "number"), _blocks, _epoch_day("timestamp")),
    Spec(schema.audit_log, ("id",), _audit, _dt_day("at")),
    Spec(schema.trades, ("id",), _trades, _dt_day("created_at")),
    Spec(schema.tx_journal, ("id",), _journal, _dt_day("created_at")),
)
NEVER_TOUCHED = ("candles", "pools", "checkpoints", "system_config")


def by_name(names: list[str] | None) -> tuple[Spec, ...]:
    if not names:
        return SPECS
    known = {s.name: s for s in SPECS}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(
            f"cannot prune {', '.join(unknown)}: prunable tables are {', '.join(known)}"
        )
    return tuple(known[n] for n in names)
