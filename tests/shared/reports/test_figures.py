"""The pure parts of the report: periods, prices, percentiles, drawdown, empty periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.reports import figures
from shared.reports.period import BadPeriod, parse_period, period_containing
from shared.reports.pricing import PriceSeries
from shared.reports.records import LooseGas, TradeRecord, failure_class

NOW = datetime(2024, 3, 13, 0, 5, tzinfo=UTC)  # a Wednesday


def test_periods_are_utc_and_half_open() -> None:
    d = parse_period("daily", None, NOW)
    assert (d.start, d.end, d.label) == (
        datetime(2024, 3, 12, tzinfo=UTC),
        datetime(2024, 3, 13, tzinfo=UTC),
        "2024-03-12",
    )
    w = parse_period("weekly", None, NOW)  # the last complete ISO week: Mon 4 - Sun 10 March
    assert (w.start.date(), w.end.date(), w.label) == (
        date(2024, 3, 4),
        date(2024, 3, 11),
        "2024-W10",
    )
    m = parse_period("monthly", None, NOW)
    assert (m.start.date(), m.end.date(), m.label) == (
        date(2024, 2, 1),
        date(2024, 3, 1),
        "2024-02",
    )
    dec = period_containing("monthly", date(2023, 12, 31))
    assert dec.end == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_period("weekly", "2024-03-10", NOW).label == "2024-W10"
    assert d.contains(d.start.timestamp()) and not d.contains(d.end.timestamp())


@pytest.mark.parametrize(("kind", "day"), [("hourly", None), ("daily", "10/03/2024")])
def test_bad_periods_are_named(kind: str, day: str | None) -> None:
    with pytest.raises(BadPeriod):
        parse_period(kind, day, NOW)


def test_prices_are_inverted_when_the_capital_is_the_quote_side() -> None:
    s = PriceSeries.from_candles("USDT", "x", [(120, 4.0), (60, 2.0)], capital_is_base=False)
    assert s.at(59) is None
    assert s.at(60) == 0.5 and s.at(119.9) == 0.5 and s.at(10_000) == 0.25


def test_nearest_rank_and_drawdown() -> None:
    values = [float(v) for v in range(1, 101)]
    assert figures.nearest_rank(values, 50) == 50.0
    assert figures.nearest_rank(values, 99) == 99.0
    assert figures.nearest_rank([7.0], 99) == 7.0
    assert figures.nearest_rank([], 50) is None
    assert figures.max_drawdown([5, 3, 8, 1, 9]) == 7
    assert figures.max_drawdown([-2, -5, 1]) == 5  # from the starting zero


def test_units_are_exact() -> None:
    assert figures.units(1, 18) == "0.000000000000000001"
    assert figures.units(-1500, 3) == "-1.5"
    assert figures.units(10**30, 18) == "1000000000000"
    assert figures.units(0, 18) == "0"


def test_an_empty_period_has_no_rates_and_no_targets_met() -> None:
    p = period_containing("daily", date(2024, 3, 10))
    out = figures.compute(p, [], [])
    for mode in ("live", "paper"):
        tot = out[mode]["totals"]
        assert tot["attempts"] == 0 and tot["success_rate"] is None and tot["win_rate"] is None
        assert tot["profit"] == tot["gas"] == tot["net"] == tot["max_drawdown"] == "0"
        assert {t["met"] for t in out[mode]["targets"]} == {None}
        assert out[mode]["hold_comparison"] is None


def test_unpriced_trades_are_counted_not_guessed() -> None:
    p = period_containing("daily", date(2024, 3, 10))
    t0 = p.start.timestamp()
    prices = PriceSeries("USDT", "x", [int(t0) + 3600], [100.0])
    trades = [
        TradeRecord(1, "live", t0 + 60, "a<>b", "mined", 10**18, 10**17),
        TradeRecord(2, "live", t0 + 7200, "a<>b", "mined", 10**18, 0),
    ]
    out = figures.compute(p, trades, [LooseGas(t0 + 30, 10**17)], prices=prices)
    tot = out["live"]["totals"]
    assert tot["unpriced"] == 2  # the first trade and the fill came before the first candle
    assert tot["profit_quote"] == 100.0 and tot["gas_quote"] == 0.0
    assert out["live"]["hold_comparison"] is None


def test_a_paper_trade_is_never_added_to_live() -> None:
    p = period_containing("daily", date(2024, 3, 10))
    t = TradeRecord(1, "paper", p.start.timestamp(), "a<>b", "simulated", 5, 1)
    out = figures.compute(p, [t])
    assert out["paper"]["totals"]["attempts"] == 1 and out["live"]["totals"]["attempts"] == 0


def test_failure_classes() -> None:
    assert failure_class("reverted", {}, None) == "reverted"
    assert failure_class("failed", {"error": "nonce_conflict"}, None) == "nonce_conflict"
    assert failure_class("failed", {}, "stopped") == "stopped"
    assert failure_class("failed", {}, None) == "unknown"
    assert failure_class("simulation_failed", {"revert": "x"}, None) == "simulation_reverted"
    assert failure_class("mined", {"error": "x"}, None) is None
