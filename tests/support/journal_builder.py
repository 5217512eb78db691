"""Journals built by hand: trades and their transactions written row by row, as the trader
writes them, so that every report figure can be checked against known numbers."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text

from shared.db import schema

CHAIN = 56
M = 10**15  # a thousandth of a WBNB, the unit the hand-checked figures are written in
GWEI = 10**9
WBNB = "0x" + "bb" * 20

POOLS = {
    "alpha": "0x" + "a1" * 20,
    "beta": "0x" + "b2" * 20,
    "gamma": "0x" + "c3" * 20,
}


def utc(s: str) -> datetime:
    return datetime.fromisoformat(s).replace(tzinfo=UTC)


def register_pools(engine: Engine) -> None:
    """Three WBNB/USDT pools; prices are USDT per WBNB (WBNB is token1 and the base)."""
    with engine.begin() as conn:
        for name, address in POOLS.items():
            conn.execute(
                schema.pools.insert().values(
                    chain_id=CHAIN,
                    address=address,
                    name=name,
                    kind="v2",
                    token0="USDT",
                    token1="WBNB",
                    decimals0=18,
                    decimals1=18,
                    base_is_token0=False,
                    fee_bps=25,
                )
            )


def add_candle(engine: Engine, pool: str, interval: str, open_time: datetime, close: float) -> None:
    with engine.begin() as conn:
        conn.execute(
            schema.candles.insert().values(
                chain_id=CHAIN,
                pool=POOLS[pool],
                interval=interval,
                open_time=int(open_time.timestamp()),
                open=close,
                high=close,
                low=close,
                close=close,
                volume_base=1.0,
                volume_quote=close,
                trades=1,
                first_block=1,
                last_block=1,
                closed=True,
            )
        )


@dataclass
class JournalBuilder:
    engine: Engine
    _nonce: Iterator[int] = field(default_factory=itertools.count)
    _hash: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def trade(
        self,
        at: str,
        status: str,
        *,
        mode: str = "live",
        pools: tuple[str, str] = ("alpha", "beta"),
        profit: int | None = None,
        gas_cost: int | None = None,
        detail: dict[str, Any] | None = None,
    ) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(
                schema.trades.insert().values(
                    chain_id=CHAIN,
                    created_at=utc(at),
                    updated_at=utc(at),
                    mode=mode,
                    strategy="two_pool_arbitrage",
                    pool_buy=POOLS[pools[0]],
                    pool_sell=POOLS[pools[1]],
                    token_in=WBNB,
                    amount_in=10**18,
                    expected_profit=M,
                    min_profit=0,
                    gas_limit=250_000,
                    gas_price=5 * GWEI,
                    status=status,
                    profit=profit,
                    gas_cost=gas_cost,
                    trigger_block=100,
                    trigger_log_index=0,
                    detail=json.dumps(detail or {}),
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def tx(
        self,
        trade_id: int | None,
        kind: str,
        status: str,
        *,
        at: str,
        gas_used: int | None = None,
        price: int | None = None,
    ) -> None:
        """One journal transaction; ``price`` is the receipt's effective gas price."""
        with self.engine.begin() as conn:
            conn.execute(
                schema.tx_journal.insert().values(
                    chain_id=CHAIN,
                    sender="0x" + "0e" * 20,
                    nonce=next(self._nonce),
                    tx_hash=f"0x{next(self._hash):064x}",
                    raw_tx="0x00",
                    kind=kind,
                    trade_id=trade_id,
                    gas_price=price or 5 * GWEI,
                    status=status,
                    created_at=utc(at),
                    gas_used=gas_used,
                    effective_gas_price=price,
                )
            )

    def set_created_text(self, trade_id: int, value: str) -> None:
        """SQLite: the creation time as its CURRENT_TIMESTAMP default writes it (no fraction)."""
        with self.engine.begin() as conn:
            conn.execute(
                text("UPDATE trades SET created_at = :v WHERE id = :id"),
                {"v": value, "id": trade_id},
            )


def build_reference_day(engine: Engine) -> dict[str, int]:
    """The hand-checked journal of 2024-03-10 (UTC) and its neighbours; see the figures in
    tests/shared/reports/test_queries.py. Returns trade ids by label."""
    register_pools(engine)
    # 5m candles are coarser: the report must price from the 1m ones.
    add_candle(engine, "alpha", "1m", utc("2024-03-09T23:00:00"), 300.0)
    add_candle(engine, "alpha", "1m", utc("2024-03-10T06:00:00"), 310.0)
    add_candle(engine, "alpha", "1m", utc("2024-03-10T18:00:00"), 320.0)
    add_candle(engine, "alpha", "5m", utc("2024-03-10T00:00:00"), 999.0)
    b = JournalBuilder(engine)
    ids: dict[str, int] = {}
    lat = lambda s: {"latency_s": {"accepted": s}}  # noqa: E731
    # A mined trade: 50m profit, 200k gas at 5 gwei = 1m.
    ids["mined"] = b.trade("2024-03-10T00:10:00", "mined", profit=50 * M, detail=lat(0.004))
    b.tx(ids["mined"], "trade", "mined", at="2024-03-10T00:10:00", gas_used=200_000, price=5 * GWEI)
    # Reverted: 100k gas at 5 gwei = 0.5m, no profit.
    ids["reverted"] = b.trade(
        "2024-03-10T01:00:00", "reverted", pools=("beta", "alpha"), profit=0, detail=lat(0.010)
    )
    b.tx(
        ids["reverted"],
        "trade",
        "reverted",
        at="2024-03-10T01:00:00",
        gas_used=100_000,
        price=5 * GWEI,
    )
    # Cancelled: the trade tx replaced by our cancel (21k at 10 gwei = 0.21m); the trader also
    # wrote that gas on the trade row: it must count once.
    ids["cancelled"] = b.trade("2024-03-10T02:00:00", "cancelled", profit=0, gas_cost=21 * M // 100)
    b.tx(ids["cancelled"], "trade", "replaced", at="2024-03-10T02:00:00")
    b.tx(
        ids["cancelled"],
        "cancel",
        "mined",
        at="2024-03-10T02:05:00",
        gas_used=21_000,
        price=10 * GWEI,
    )
    # A nonce conflict: never mined by us, no gas.
    ids["conflict"] = b.trade("2024-03-10T03:00:00", "failed", detail={"error": "nonce_conflict"})
    b.tx(ids["conflict"], "trade", "replaced", at="2024-03-10T03:00:00")
    ids["refused_loss"] = b.trade(
        "2024-03-10T04:00:00", "refused", detail={"limit": "max_daily_loss"}
    )
    ids["refused_gas"] = b.trade(
        "2024-03-10T05:00:00",
        "refused",
        pools=("alpha", "gamma"),
        detail={"limit": "max_gas_price"},
    )
    ids["pending"] = b.trade("2024-03-10T06:00:00", "submitted")
    b.tx(ids["pending"], "trade", "broadcast", at="2024-03-10T06:00:00")
    # A nonce hole filled by a cancelling self-transfer that belongs to no trade: 0.21m.
    b.tx(None, "cancel", "mined", at="2024-03-10T07:00:00", gas_used=21_000, price=10 * GWEI)
    # Second pair: 3m profit, 1m gas.
    ids["gamma"] = b.trade(
        "2024-03-10T12:00:00", "mined", pools=("gamma", "alpha"), profit=3 * M, detail=lat(0.002)
    )
    b.tx(ids["gamma"], "trade", "mined", at="2024-03-10T12:00:00", gas_used=200_000, price=5 * GWEI)
    # Sped up: the first tx replaced (no gas), the speed-up mined (1m); 10m profit; half a
    # second before midnight.
    ids["late"] = b.trade("2024-03-10T23:59:59.500000", "mined", profit=10 * M, detail=lat(0.006))
    b.tx(ids["late"], "trade", "replaced", at="2024-03-10T23:59:59.500000")
    b.tx(
        ids["late"], "speedup", "mined", at="2024-03-11T00:00:03", gas_used=200_000, price=5 * GWEI
    )
    # The neighbours: midnight exactly belongs to the next day, a second before to this one's
    # predecessor.
    ids["next_day"] = b.trade("2024-03-11T00:00:00", "mined", profit=99 * M)
    b.tx(
        ids["next_day"],
        "trade",
        "mined",
        at="2024-03-11T00:00:00",
        gas_used=200_000,
        price=5 * GWEI,
    )
    if engine.dialect.name == "sqlite":
        b.set_created_text(ids["next_day"], "2024-03-11 00:00:00")
    ids["prev_day"] = b.trade("2024-03-09T23:59:59", "reverted", profit=0)
    b.tx(
        ids["prev_day"],
        "trade",
        "reverted",
        at="2024-03-09T23:59:59",
        gas_used=100_000,
        price=5 * GWEI,
    )
    # Paper: simulated 7m with a 1m estimate; a reverted simulation (1m estimate); no endpoint.
    ids["paper_ok"] = b.trade(
        "2024-03-10T08:00:00", "simulated", mode="paper", profit=7 * M, gas_cost=M
    )
    ids["paper_revert"] = b.trade(
        "2024-03-10T09:00:00",
        "simulation_failed",
        mode="paper",
        profit=0,
        gas_cost=M,
        detail={"revert": "execution reverted: no profit"},
    )
    ids["paper_no_rpc"] = b.trade(
        "2024-03-10T10:00:00",
        "simulation_failed",
        mode="paper",
        detail={"error": "no endpoint connected"},
    )
    return ids
