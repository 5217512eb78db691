"""The report queries: journal rows in, records and summaries out (the I/O around ``figures``).

Used by the edge node (its API's trades list and daily summary) and by the functions (the
reports), so they live here and import nothing of either. Reads only: no query here locks a
table the node writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine, select

from shared.config import CANDLE_INTERVALS, ETHEREUM_CHAIN_IDS
from shared.db import schema
from shared.reports import figures
from shared.reports.period import Period, period_containing
from shared.reports.pricing import PriceSeries
from shared.reports.records import (
    LIVE,
    MODES,
    LooseGas,
    TradeRecord,
    failure_class,
    refusal_limit,
)

# Journal transaction statuses whose receipts say gas was paid.
GAS_PAID = ("mined", "reverted")


class NotInStore(LookupError):
    """What the report needs is not in this store (no trades of that chain, no such token):
    the caller must name another chain, token or database."""


def _utc(value: datetime | None) -> datetime | None:
    # SQLite gives back naive datetimes; the node writes UTC there (CURRENT_TIMESTAMP, and
    # aware datetimes in UTC), so naive means UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def trades(
    engine: Engine, chain_id: int, limit: int, mode: str | None = None
) -> list[dict[str, Any]]:
    """The latest trades, newest first, as JSON-ready dicts."""
    t = schema.trades
    q = select(t).where(t.c.chain_id == chain_id)
    if mode is not None:
        q = q.where(t.c.mode == mode)
    with engine.connect() as conn:
        rows = conn.execute(q.order_by(t.c.id.desc()).limit(limit)).all()
    return [trade_dict(r) for r in rows]


def trade_dict(r: Any) -> dict[str, Any]:
    def s(v: int | None) -> str | None:  # 256-bit amounts: strings, so JSON keeps them exact
        return None if v is None else str(v)

    created = _utc(r.created_at)
    return {
        "id": r.id,
        "created_at": created.isoformat() if created else None,
        "mode": r.mode,
        "strategy": r.strategy,
        "pool_buy": r.pool_buy,
        "pool_sell": r.pool_sell,
        "token_in": r.token_in,
        "amount_in": s(r.amount_in),
        "expected_profit": s(r.expected_profit),
        "min_profit": s(r.min_profit),
        "gas_price": s(r.gas_price),
        "status": r.status,
        "tx_hash": r.tx_hash,
        "nonce": r.nonce,
        "block_number": r.block_number,
        "profit": s(r.profit),
        "gas_used": r.gas_used,
        "gas_cost": s(r.gas_cost),
        "trigger_block": r.trigger_block,
        "detail": orjson.loads(r.detail or "{}"),
    }


def pair_label(pool_buy: str, pool_sell: str, names: Mapping[str, str]) -> str:
    """A pool pair, whichever way it was traded: the two pools' names, sorted."""
    a, b = sorted((names.get(pool_buy, pool_buy), names.get(pool_sell, pool_sell)))
    return f"{a}<>{b}"


def pool_names(engine: Engine, chain_id: int) -> dict[str, str]:
    p = schema.pools
    with engine.connect() as conn:
        rows = conn.execute(select(p.c.address, p.c.name).where(p.c.chain_id == chain_id)).all()
    return {r.address: r.name for r in rows}


def _latency(detail: dict[str, Any]) -> float | None:
    """Trigger -> acceptance in seconds, as the trader measured it (``detail.latency_s``)."""
    lat = detail.get("latency_s")
    if isinstance(lat, dict):
        lat = lat.get("accepted")
    return float(lat) if isinstance(lat, int | float) else None


def load_records(
    engine: Engine, chain_id: int, start: datetime, end: datetime, names: Mapping[str, str]
) -> tuple[list[TradeRecord], list[LooseGas]]:
    """The trades created in ``[start, end)`` and the live gas that belongs to no trade."""
    t, j = schema.trades, schema.tx_journal
    # One second of slack each side, filtered exactly below: SQLite compares these columns as
    # text, where "…00:00:00" sorts before "…00:00:00.000000".
    lo, hi = start - timedelta(seconds=1), end + timedelta(seconds=1)
    s0, s1 = start.timestamp(), end.timestamp()
    cols = (
        t.c.id,
        t.c.mode,
        t.c.created_at,
        t.c.pool_buy,
        t.c.pool_sell,
        t.c.status,
        t.c.profit,
        t.c.gas_cost,
        t.c.detail,
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(*cols).where(t.c.chain_id == chain_id, t.c.created_at >= lo, t.c.created_at < hi)
        ).all()
        ids = [r.id for r in rows if r.mode == LIVE]
        paid: Sequence[Any] = ()
        if ids:
            paid = conn.execute(
                select(j.c.trade_id, j.c.gas_used, j.c.effective_gas_price, j.c.gas_price).where(
                    j.c.chain_id == chain_id,
                    j.c.status.in_(GAS_PAID),
                    j.c.trade_id >= min(ids),
                    j.c.trade_id <= max(ids),
                )
            ).all()
        loose_rows = conn.execute(
            select(j.c.created_at, j.c.gas_used, j.c.effective_gas_price, j.c.gas_price).where(
                j.c.chain_id == chain_id,
                j.c.status.in_(GAS_PAID),
                j.c.trade_id.is_(None),
                j.c.created_at >= lo,
                j.c.created_at < hi,
            )
        ).all()
    gas_by_trade: dict[int, int] = {}
    for g in paid:
        gas_by_trade[g.trade_id] = gas_by_trade.get(g.trade_id, 0) + _tx_gas(g)
    records = []
    labels: dict[tuple[str, str], str] = {}
    for r in rows:
        created = r.created_at
        ts = (created.replace(tzinfo=UTC) if created.tzinfo is None else created).timestamp()
        if not s0 <= ts < s1:
            continue
        detail = orjson.loads(r.detail) if r.detail and r.detail != "{}" else {}
        if not isinstance(detail, dict):
            detail = {}
        pools = (r.pool_buy, r.pool_sell)
        label = labels.get(pools)
        if label is None:
            label = labels[pools] = pair_label(r.pool_buy, r.pool_sell, names)
        # Live gas from the receipts of the trade's transactions (a cancel that took its nonce
        # included); the trade row's own gas_cost only when no receipt is journaled (paper, or
        # rows written before the journal kept receipts).
        gas = gas_by_trade.get(r.id) if r.mode == LIVE else None
        records.append(
            TradeRecord(
                id=int(r.id),
                mode=r.mode,
                at=ts,
                pair=label,
                status=r.status,
                profit=int(r.profit or 0),
                gas=int(r.gas_cost or 0) if gas is None else gas,
                failure_class=failure_class(r.status, detail, None),
                refusal_limit=refusal_limit(r.status, detail),
                latency_s=_latency(detail),
            )
        )
    loose = []
    for g in loose_rows:
        at = _utc(g.created_at)
        assert at is not None
        if s0 <= at.timestamp() < s1:
            loose.append(LooseGas(at.timestamp(), _tx_gas(g)))
    return records, loose


def _tx_gas(row: Any) -> int:
    if row.gas_used is None:
        return 0
    price = row.effective_gas_price if row.effective_gas_price is not None else row.gas_price
    return int(row.gas_used) * int(price or 0)


@dataclass(frozen=True, slots=True)
class Capital:
    symbol: str
    decimals: int


def capital_of(engine: Engine, chain_id: int, symbol: str | None = None) -> Capital:
    """The capital token: the chain's wrapped native token (the node's config requires it),
    with its decimals from the pools that trade it."""
    sym = symbol or ("WETH" if chain_id in ETHEREUM_CHAIN_IDS else "WBNB")
    p = schema.pools
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.token0, p.c.token1, p.c.decimals0, p.c.decimals1).where(
                p.c.chain_id == chain_id
            )
        ).all()
    for r in rows:
        if r.token0 == sym:
            return Capital(sym, int(r.decimals0))
        if r.token1 == sym:
            return Capital(sym, int(r.decimals1))
    if symbol is None:
        return Capital(sym, 18)  # not among the pools stored: wrapped native tokens have 18
    raise NotInStore(f"no pool of chain {chain_id} trades {sym}: name the capital token")


def price_series(
    engine: Engine, chain_id: int, capital: str, quote: str | None, start: datetime, end: datetime
) -> PriceSeries | None:
    """The capital token's price in ``quote`` (by default the other token of the first pool,
    by name, that trades the capital token) from the finest candles stored; None if no pool
    trades the two."""
    p, c = schema.pools, schema.candles
    with engine.connect() as conn:
        pools = conn.execute(select(p).where(p.c.chain_id == chain_id).order_by(p.c.name)).all()
        for pool in pools:
            tokens = (pool.token0, pool.token1)
            if capital not in tokens:
                continue
            other = tokens[1] if tokens[0] == capital else tokens[0]
            if quote is not None and other != quote:
                continue
            capital_is_base = (pool.token0 == capital) == bool(pool.base_is_token0)
            stored = {
                row.interval
                for row in conn.execute(
                    select(c.c.interval)
                    .where(c.c.chain_id == chain_id, c.c.pool == pool.address)
                    .distinct()
                )
            }
            finest = sorted(stored & set(CANDLE_INTERVALS), key=CANDLE_INTERVALS.__getitem__)
            if not finest:
                continue
            interval = finest[0]
            # From a day before the start, so the first trades have an earlier close.
            lo = int(start.timestamp()) - 86_400
            candles = conn.execute(
                select(c.c.open_time, c.c.close).where(
                    c.c.chain_id == chain_id,
                    c.c.pool == pool.address,
                    c.c.interval == interval,
                    c.c.open_time >= lo,
                    c.c.open_time < int(end.timestamp()),
                )
            ).all()
            source = f"close of the {interval} candles of pool {pool.name} ({other} per {capital})"
            closes = [(int(x.open_time), float(x.close)) for x in candles]
            return PriceSeries.from_candles(other, source, closes, capital_is_base)
    if quote is not None:
        raise NotInStore(f"no pool of chain {chain_id} trades {capital} against {quote}")
    return None


def daily_summary(
    engine: Engine, chain_id: int, day: str, pool_names: Mapping[str, str]
) -> dict[str, Any]:
    """One UTC day's key figures per mode, totals and per pool pair (the node's API)."""
    period = period_containing("daily", date.fromisoformat(day))
    records, loose = load_records(engine, chain_id, period.start, period.end, pool_names)
    capital = capital_of(engine, chain_id)
    result = figures.compute(period, records, loose, decimals=capital.decimals)
    keys = (
        "attempts",
        "succeeded",
        "success_rate",
        "reverted",
        "failed",
        "failed_by_class",
        "cancelled",
        "refused",
        "refused_by_limit",
        "pending",
        "profit",
        "gas",
        "net",
    )
    out: dict[str, Any] = {
        "date": period.label,
        "timezone": "UTC",
        "capital": capital.symbol,
        "definitions": {
            k: figures.DEFINITIONS[k]
            for k in ("attempts", "succeeded", "success_rate", "gas", "modes")
        },
    }
    for mode in MODES:
        m = result[mode]
        out[mode] = {
            **{k: m["totals"][k] for k in keys},
            "by_pool": {name: {k: f[k] for k in keys} for name, f in m["by_pair"].items()},
        }
    return out


def chain_ids(engine: Engine) -> list[int]:
    t = schema.trades
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.execute(select(t.c.chain_id).distinct()).all()]


__all__ = [
    "NotInStore",
    "Period",
    "capital_of",
    "chain_ids",
    "daily_summary",
    "load_records",
    "pair_label",
    "pool_names",
    "price_series",
    "trade_dict",
    "trades",
]
