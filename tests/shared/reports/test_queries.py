"""Every report figure against a journal built by hand (tests/support/journal_builder.py), on
SQLite and the real PostgreSQL.

The hand calculation, in m = 0.001 WBNB, for 2024-03-10 UTC, live:
- attempts: mined x3 (00:10, 12:00, 23:59:59.5), reverted (01:00), cancelled (02:00), failed
  (03:00) = 6; succeeded 3; success rate 0.5; refused 2; pending 1.
- profit 50 + 3 + 10 = 63; gas 1 + 0.5 + 0.21 (cancel) + 1 + 1 (speed-up) + 0.21 (nonce fill)
  = 3.92; net 59.08.
- per-attempt nets in time order: 49, -0.5, -0.21, 0, 2, 9 -> wins 3, losses 2, sum 59.29.
- cumulative net (the fill at 07:00 included): 49, 48.5, 48.29, 48.29, 48.08, 50.08, 59.08 ->
  max drawdown 49 - 48.08 = 0.92.
- priced from alpha's 1m candles (300 from 2024-03-09T23:00, 310 from 06:00, 320 from 18:00):
  profit 50*0.3 + 3*0.31 + 10*0.32 = 19.13 USDT; gas 0.3 + 0.15 + 0.063 + 0.0651 + 0.31 + 0.32
  = 1.2081 USDT.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Engine

from shared.db.engine import create_engine, migrate
from shared.reports import figures, queries
from shared.reports.period import period_containing
from tests.support.journal_builder import CHAIN, POOLS, build_reference_day, utc

Ref = tuple[Engine, dict[str, int]]


@pytest.fixture
def reference(db_url: str) -> Iterator[Ref]:
    engine = create_engine(db_url)
    migrate(engine)
    ids = build_reference_day(engine)
    yield engine, ids
    engine.dispose()


def _report(
    engine: Engine, day: str = "2024-03-10", capital: int | None = 10 * 10**18
) -> dict[str, Any]:
    period = period_containing("daily", utc(day).date())
    names = queries.pool_names(engine, CHAIN)
    records, loose = queries.load_records(engine, CHAIN, period.start, period.end, names)
    prices = queries.price_series(engine, CHAIN, "WBNB", None, period.start, period.end)
    return figures.compute(
        period, records, loose, decimals=18, prices=prices, starting_capital=capital
    )


def test_live_totals_match_the_hand_calculation(reference: Ref) -> None:
    engine, _ = reference
    live = _report(engine)["live"]["totals"]
    assert live["attempts"] == 6
    assert live["succeeded"] == live["mined"] == 3
    assert live["success_rate"] == 0.5
    assert live["reverted"] == 1
    assert live["cancelled"] == 1
    assert live["failed"] == 1 and live["failed_by_class"] == {"nonce_conflict": 1}
    assert live["refused"] == 2
    assert live["refused_by_limit"] == {"max_daily_loss": 1, "max_gas_price": 1}
    assert live["pending"] == 1
    assert live["profit"] == "0.063"
    assert live["gas"] == "0.00392"
    assert live["net"] == "0.05908"
    assert live["wins"] == 3 and live["losses"] == 2 and live["win_rate"] == 0.5
    # 59.29m / 6, rounded toward zero to the wei
    assert live["average_trade"] == live["expectancy"] == "0.009881666666666666"
    assert live["best_trade"] == "0.049"
    assert live["worst_trade"] == "-0.0005"
    assert live["profit_factor"] == pytest.approx(60 / 0.71)
    assert live["expectancy_ratio"] == pytest.approx((1 + 20 / 0.355) * 0.5 - 1)
    assert live["max_drawdown"] == "0.00092"
    assert live["profit_quote"] == pytest.approx(19.13)
    assert live["gas_quote"] == pytest.approx(1.2081)
    assert live["net_quote"] == pytest.approx(19.13 - 1.2081)
    assert live["unpriced"] == 0
    assert (live["latency_p50_ms"], live["latency_p99_ms"], live["latency_samples"]) == (
        4.0,
        10.0,
        4,
    )


def test_per_pair_and_nonce_fills(reference: Ref) -> None:
    engine, _ = reference
    pairs = _report(engine)["live"]["by_pair"]
    assert set(pairs) == {"alpha<>beta", "alpha<>gamma", "(nonce fills)"}
    ab, ag, fills = pairs["alpha<>beta"], pairs["alpha<>gamma"], pairs["(nonce fills)"]
    # Both directions of alpha/beta are one pair.
    assert (ab["attempts"], ab["succeeded"], ab["refused"], ab["pending"]) == (5, 2, 1, 1)
    assert (ab["profit"], ab["gas"], ab["net"]) == ("0.06", "0.00271", "0.05729")
    assert (ag["attempts"], ag["succeeded"], ag["refused"]) == (1, 1, 1)
    assert (ag["profit"], ag["gas"], ag["net"]) == ("0.003", "0.001", "0.002")
    assert ag["refused_by_limit"] == {"max_gas_price": 1}
    assert (fills["attempts"], fills["gas"], fills["net"]) == (0, "0.00021", "-0.00021")
    # The pairs add up to the total.
    total = sum(Decimal(p["net"]) for p in pairs.values())
    assert total == Decimal("0.05908")


def test_paper_is_apart_from_live(reference: Ref) -> None:
    engine, _ = reference
    paper = _report(engine)["paper"]["totals"]
    assert (paper["attempts"], paper["succeeded"], paper["simulated"]) == (3, 1, 1)
    assert paper["success_rate"] == pytest.approx(1 / 3)
    assert paper["failed_by_class"] == {"no endpoint connected": 1, "simulation_reverted": 1}
    assert (paper["profit"], paper["gas"], paper["net"]) == ("0.007", "0.002", "0.005")
    assert (paper["best_trade"], paper["worst_trade"]) == ("0.006", "-0.001")
    assert paper["latency_samples"] == 0


def test_targets_beside_the_figures(reference: Ref) -> None:
    engine, _ = reference
    targets = {t["target"]: t for t in _report(engine)["live"]["targets"]}
    assert targets["success_rate_above_95pct"]["met"] is False
    assert targets["success_rate_above_60pct"]["met"] is False
    assert targets["profit_at_least_2x_gas"]["met"] is True
    assert targets["profit_at_least_2x_gas"]["value"] == pytest.approx(63 / 3.92)


def test_hold_comparison(reference: Ref) -> None:
    engine, _ = reference
    hold = _report(engine)["live"]["hold_comparison"]
    assert hold["priced"] is True
    assert (hold["price_start"], hold["price_end"]) == (300.0, 320.0)
    assert hold["starting_capital"] == "10"
    assert hold["ending_capital_traded"] == "10.05908"
    assert hold["return_traded_pct"] == pytest.approx(0.5908)
    assert hold["held_value_start_quote"] == 3000.0
    assert hold["held_value_end_quote"] == 3200.0
    assert hold["traded_value_end_quote"] == pytest.approx(10.05908 * 320)
    assert hold["return_held_quote_pct"] == pytest.approx(200 / 30)
    assert hold["traded_minus_held_quote"] == pytest.approx(0.05908 * 320)
    assert _report(engine, capital=None)["live"]["hold_comparison"] is None


def test_hourly_series(reference: Ref) -> None:
    engine, _ = reference
    series = _report(engine)["live"]["series"]
    assert len(series) == 24
    assert series[0]["start"] == utc("2024-03-10T00:00:00").timestamp()
    got = {i: (b["attempts"], b["succeeded"], b["net"]) for i, b in enumerate(series)}
    assert got[0] == (1, 1, "0.049")
    assert got[1] == (1, 0, "-0.0005")
    assert got[7] == (0, 0, "-0.00021")  # the nonce fill
    assert got[23] == (1, 1, "0.009")
    assert series[-1]["cumulative_net"] == "0.05908"
    assert sum(b["attempts"] for b in series) == 6


def test_day_boundary(reference: Ref) -> None:
    engine, _ = reference
    nxt = _report(engine, "2024-03-11")["live"]["totals"]
    assert (nxt["attempts"], nxt["profit"], nxt["gas"]) == (1, "0.099", "0.001")
    prev = _report(engine, "2024-03-09")["live"]["totals"]
    assert (prev["attempts"], prev["reverted"], prev["gas"]) == (1, 1, "0.0005")


def test_daily_summary_for_the_node_api(reference: Ref) -> None:
    engine, _ = reference
    names = {address: name.upper() for name, address in POOLS.items()}
    s = queries.daily_summary(engine, CHAIN, "2024-03-10", names)
    assert s["date"] == "2024-03-10" and s["timezone"] == "UTC" and s["capital"] == "WBNB"
    live, paper = s["live"], s["paper"]
    assert (live["attempts"], live["succeeded"], live["success_rate"]) == (6, 3, 0.5)
    assert (live["refused"], live["cancelled"], live["gas"], live["net"]) == (
        2,
        1,
        "0.00392",
        "0.05908",
    )
    assert (paper["attempts"], paper["succeeded"], paper["net"]) == (3, 1, "0.005")
    assert set(live["by_pool"]) == {"ALPHA<>BETA", "ALPHA<>GAMMA", "(nonce fills)"}
    assert "success_rate" in s["definitions"]


def test_trades_list_is_newest_first_with_exact_amounts(reference: Ref) -> None:
    engine, ids = reference
    rows = queries.trades(engine, CHAIN, 3)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert rows[0]["id"] == max(ids.values())
    live = queries.trades(engine, CHAIN, 100, "live")
    assert {r["mode"] for r in live} == {"live"}
    mined = next(r for r in live if r["id"] == ids["mined"])
    assert mined["profit"] == str(50 * 10**15)
    assert mined["created_at"] == "2024-03-10T00:10:00+00:00"
    assert mined["detail"] == {"latency_s": {"accepted": 0.004}}
