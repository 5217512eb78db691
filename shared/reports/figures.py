"""The report's figures from journal records: a pure calculation, no database, no clock.

Paper and live are never summed together: every figure exists per mode. Amounts stay exact
integers (raw units of the capital token) until they are written out as decimal strings in
token units; quote-currency figures are floats, since the candles that price them are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.reports.period import Period
from shared.reports.pricing import PriceSeries
from shared.reports.records import (
    ATTEMPTED,
    LIVE,
    MODES,
    NONCE_FILLS,
    PENDING,
    REFUSED,
    SUCCEEDED,
    LooseGas,
    TradeRecord,
)

DEFINITIONS: dict[str, str] = {
    "timezone": "All times are UTC. A trade belongs to the period in which it was created "
    "(journaled); periods are half-open [start, end).",
    "modes": "Paper (simulated) and live (on-chain) trades are reported apart, never summed.",
    "attempts": "Trades that passed the risk limits and reached an end: live mined, reverted, "
    "failed or cancelled; paper simulated or simulation_failed. Pending trades (not settled "
    "yet) and refused trades are not attempts.",
    "succeeded": "Live: mined with a successful receipt. Paper: the simulation succeeded. A "
    "cancelled trade is an attempt that did not succeed.",
    "success_rate": "succeeded / attempts.",
    "failed_by_class": "Attempts that failed other than by an on-chain revert, by the error the "
    "trader recorded (nonce_conflict, simulation_reverted, ...). Reverted is its own figure.",
    "refused_by_limit": "Trades a risk limit refused before anything was signed or simulated "
    "(status 'refused'), by the limit's name.",
    "profit": "Realised profit before gas, in the capital token: the executor's reported profit "
    "of mined trades (live), the simulated profit (paper).",
    "gas": "Gas paid in the native token (priced 1:1 in the capital token, the wrapped native "
    "one): every mined or reverted transaction of a trade (including cancels that replaced it) "
    "and the cancelling self-transfers that filled nonce holes (live, from receipts: gas used "
    "x effective gas price); the estimate for paper trades.",
    "net": "profit - gas.",
    "quote": "Each trade's profit, gas and net priced at the close of the candle containing its "
    "time (or the latest earlier one); trades with no earlier candle are counted as unpriced.",
    "win_rate": "Attempts whose net is above zero / attempts.",
    "average_trade": "The sum of the attempts' nets / attempts (nonce fills are not trades).",
    "expectancy": "The average net per attempt: win rate x average win - loss rate x average "
    "loss (equal to the average trade).",
    "best_worst_trade": "The highest and lowest net of one attempt.",
    "profit_factor": "Sum of positive nets / absolute sum of negative nets (null when there is "
    "no loss).",
    "expectancy_ratio": "(1 + average win / average loss) x win rate - 1 (null without a loss).",
    "max_drawdown": "The largest fall of the cumulative net from a previous peak (starting "
    "at 0), in time order.",
    "hold_comparison": "The starting capital held (valued at the first and last price of the "
    "period) against the same capital plus the period's net, valued at the last price.",
    "latency": "Trigger (the log that caused the trade) to the first broadcast accepted by an "
    "endpoint, live trades only; p50/p99 are nearest-rank percentiles.",
}

# The operations manuals' targets (seed 001 weekly review, seed 004 daily KPIs).
TARGETS = (
    ("success_rate_above_95pct", "seed 001: trade success rate > 95%"),
    ("success_rate_above_60pct", "seed 004: success rate > 60% during active periods"),
    ("profit_at_least_2x_gas", "seed 004: profit at least twice the gas spent"),
)


def units(raw: int, decimals: int) -> str:
    """Raw integer amount -> exact decimal string in token units."""
    d = Decimal(raw).scaleb(-decimals)
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def nearest_rank(sorted_values: list[float], pct: float) -> float | None:
    if not sorted_values:
        return None
    k = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[k - 1]


@dataclass(slots=True)
class Tally:
    """Running figures for one group of trades (a mode's total, or one pair)."""

    by_status: dict[str, int] = field(default_factory=dict)
    failed_by_class: dict[str, int] = field(default_factory=dict)
    refused_by_limit: dict[str, int] = field(default_factory=dict)
    profit: int = 0
    gas: int = 0
    nets: list[int] = field(default_factory=list)  # per attempt, in time order
    cumulative: list[tuple[float, int]] = field(default_factory=list)  # (time, cumulative net)
    quote_profit: float = 0.0
    quote_gas: float = 0.0
    unpriced: int = 0
    latencies: list[float] = field(default_factory=list)

    def add(self, t: TradeRecord, price: float | None, scale: float) -> None:
        self.by_status[t.status] = self.by_status.get(t.status, 0) + 1
        if t.status == REFUSED:
            limit = t.refusal_limit or "unknown"
            self.refused_by_limit[limit] = self.refused_by_limit.get(limit, 0) + 1
            return
        if t.failure_class is not None and t.failure_class != "reverted":
            self.failed_by_class[t.failure_class] = self.failed_by_class.get(t.failure_class, 0) + 1
        if t.latency_s is not None:
            self.latencies.append(t.latency_s)
        if t.status in PENDING:
            return  # counted, but nothing is realised yet
        self._money(t.at, t.profit, t.gas, price, scale)
        if t.status in ATTEMPTED:
            self.nets.append(t.net)

    def add_loose(self, g: LooseGas, price: float | None, scale: float) -> None:
        self._money(g.at, 0, g.gas, price, scale)

    def _money(self, at: float, profit: int, gas: int, price: float | None, scale: float) -> None:
        self.profit += profit
        self.gas += gas
        self.cumulative.append((at, self.profit - self.gas))
        if profit or gas:
            if price is None:
                self.unpriced += 1
            else:
                self.quote_profit += profit * price / scale
                self.quote_gas += gas * price / scale

    def figures(self, decimals: int, priced: bool) -> dict[str, Any]:
        s = self.by_status
        attempts = sum(s.get(k, 0) for k in ATTEMPTED)
        succeeded = sum(s.get(k, 0) for k in SUCCEEDED)
        wins = [n for n in self.nets if n > 0]
        losses = [n for n in self.nets if n < 0]
        net = self.profit - self.gas

        def u(raw: int) -> str:
            return units(raw, decimals)

        avg_win = sum(wins) / len(wins) if wins else 0.0
        avg_loss = -sum(losses) / len(losses) if losses else 0.0
        win_rate = len(wins) / attempts if attempts else None
        lat = sorted(self.latencies)
        return {
            "attempts": attempts,
            "succeeded": succeeded,
            "success_rate": succeeded / attempts if attempts else None,
            "mined": s.get("mined", 0),
            "simulated": s.get("simulated", 0),
            "reverted": s.get("reverted", 0),
            "failed": sum(self.failed_by_class.values()),
            "failed_by_class": dict(sorted(self.failed_by_class.items())),
            "cancelled": s.get("cancelled", 0),
            "refused": s.get(REFUSED, 0),
            "refused_by_limit": dict(sorted(self.refused_by_limit.items())),
            "pending": sum(s.get(k, 0) for k in PENDING),
            "profit": u(self.profit),
            "gas": u(self.gas),
            "net": u(net),
            "profit_quote": round(self.quote_profit, 6) if priced else None,
            "gas_quote": round(self.quote_gas, 6) if priced else None,
            "net_quote": round(self.quote_profit - self.quote_gas, 6) if priced else None,
            "unpriced": self.unpriced if priced else None,
            "wins": len(wins),
            "losses": len(losses),
            "win_rate": win_rate,
            "average_trade": u(_div(sum(self.nets), attempts)) if attempts else None,
            "best_trade": u(max(self.nets)) if self.nets else None,
            "worst_trade": u(min(self.nets)) if self.nets else None,
            "profit_factor": sum(wins) / -sum(losses) if losses else None,
            "expectancy": u(_div(sum(self.nets), attempts)) if attempts else None,
            "expectancy_ratio": (1 + avg_win / avg_loss) * (win_rate or 0) - 1 if losses else None,
            "max_drawdown": u(max_drawdown(n for _, n in self.cumulative)),
            "latency_p50_ms": _ms(nearest_rank(lat, 50)),
            "latency_p99_ms": _ms(nearest_rank(lat, 99)),
            "latency_samples": len(lat),
        }


def _div(a: int, b: int) -> int:
    """Integer division rounding toward zero (raw units: a wei more or less is below display)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _ms(s: float | None) -> float | None:
    return None if s is None else round(s * 1000, 3)


def max_drawdown(cumulative: Iterable[int]) -> int:
    peak = 0
    worst = 0
    for value in cumulative:
        peak = max(peak, value)
        worst = max(worst, peak - value)
    return worst


def targets(f: dict[str, Any]) -> list[dict[str, Any]]:
    """Each manual's target beside the figure it is about; ``met`` is None without data."""
    rate = f["success_rate"]
    profit, gas = Decimal(f["profit"]), Decimal(f["gas"])
    met_gas = None if f["attempts"] == 0 else profit >= 2 * gas
    values = {
        "success_rate_above_95pct": (rate, None if rate is None else rate > 0.95),
        "success_rate_above_60pct": (rate, None if rate is None else rate > 0.60),
        "profit_at_least_2x_gas": (
            None if gas == 0 else float(profit / gas),
            met_gas,
        ),
    }
    return [
        {"target": name, "source": source, "value": values[name][0], "met": values[name][1]}
        for name, source in TARGETS
    ]


@dataclass(slots=True)
class _Bucket:
    attempts: int = 0
    succeeded: int = 0
    net: int = 0


def compute(
    period: Period,
    trades: Iterable[TradeRecord],
    loose: Iterable[LooseGas] = (),
    *,
    decimals: int = 18,
    prices: PriceSeries | None = None,
    starting_capital: int | None = None,
) -> dict[str, Any]:
    """Every figure of the report, per mode: totals, per pair, the chart series, the targets."""
    scale = float(10**decimals)
    price_at = prices.at if prices is not None else (lambda _t: None)
    totals = {m: Tally() for m in MODES}
    pairs: dict[str, dict[str, Tally]] = {m: {} for m in MODES}
    width = period.bucket_s
    t0 = period.start.timestamp()
    n_buckets = math.ceil((period.end.timestamp() - t0) / width)
    series = {m: [_Bucket() for _ in range(n_buckets)] for m in MODES}
    s0, s1 = t0, period.end.timestamp()
    events: list[tuple[float, int, TradeRecord | LooseGas]] = [
        (t.at, t.id, t) for t in trades if s0 <= t.at < s1
    ]
    # Fills sort before trades of the same instant (ids are positive), in a stable sort.
    events += [(g.at, -1, g) for g in loose if s0 <= g.at < s1]
    events.sort(key=_event_order)
    for at, _, ev in events:
        price = price_at(at)
        if isinstance(ev, LooseGas):
            totals[LIVE].add_loose(ev, price, scale)
            pairs[LIVE].setdefault(NONCE_FILLS, Tally()).add_loose(ev, price, scale)
            series[LIVE][int((at - t0) // width)].net -= ev.gas
            continue
        mode = ev.mode if ev.mode in totals else LIVE
        totals[mode].add(ev, price, scale)
        pairs[mode].setdefault(ev.pair, Tally()).add(ev, price, scale)
        if ev.status in ATTEMPTED:
            b = series[mode][int((at - t0) // width)]
            b.attempts += 1
            b.succeeded += ev.status in SUCCEEDED
            b.net += ev.net
    priced = prices is not None
    out: dict[str, Any] = {}
    for mode in MODES:
        tot = totals[mode].figures(decimals, priced)
        out[mode] = {
            "totals": tot,
            "targets": targets(tot),
            "by_pair": {
                name: tally.figures(decimals, priced) for name, tally in sorted(pairs[mode].items())
            },
            "series": _series(series[mode], t0, width, decimals),
            "hold_comparison": hold_comparison(
                period, prices, starting_capital, totals[mode].profit - totals[mode].gas, decimals
            ),
        }
    return out


def _event_order(e: tuple[float, int, Any]) -> tuple[float, int]:
    return e[0], e[1]


def _series(buckets: list[_Bucket], t0: float, width: int, decimals: int) -> list[dict[str, Any]]:
    out = []
    cumulative = 0
    for i, b in enumerate(buckets):
        cumulative += b.net
        out.append(
            {
                "start": t0 + i * width,
                "attempts": b.attempts,
                "succeeded": b.succeeded,
                "success_rate": b.succeeded / b.attempts if b.attempts else None,
                "net": units(b.net, decimals),
                "cumulative_net": units(cumulative, decimals),
            }
        )
    return out


def hold_comparison(
    period: Period,
    prices: PriceSeries | None,
    capital: int | None,
    net: int,
    decimals: int,
) -> dict[str, Any] | None:
    """Holding the starting capital through the period against trading it (None without the
    capital; values in quote only where candles price both ends of the period)."""
    if capital is None or capital <= 0:
        return None
    scale = 10**decimals
    out: dict[str, Any] = {
        "starting_capital": units(capital, decimals),
        "ending_capital_traded": units(capital + net, decimals),
        "return_traded_pct": float(Decimal(net) * 100 / Decimal(capital)),
        "return_held_in_capital_pct": 0.0,
    }
    first = prices.at(period.start.timestamp()) if prices else None
    last = prices.at(period.end.timestamp() - 1e-6) if prices else None
    if first is None or last is None:
        return {**out, "priced": False}
    held_start = capital / scale * first
    held_end = capital / scale * last
    traded_end = (capital + net) / scale * last
    return {
        **out,
        "priced": True,
        "price_start": first,
        "price_end": last,
        "held_value_start_quote": round(held_start, 6),
        "held_value_end_quote": round(held_end, 6),
        "traded_value_end_quote": round(traded_end, 6),
        "return_held_quote_pct": (held_end / held_start - 1) * 100 if held_start else None,
        "return_traded_quote_pct": (traded_end / held_start - 1) * 100 if held_start else None,
        "traded_minus_held_quote": round(traded_end - held_end, 6),
    }
