"""The report as Markdown: every figure of the JSON, its definition, the targets beside it."""

from __future__ import annotations

from typing import Any

ROWS: tuple[tuple[str, str], ...] = (
    ("attempts", "Attempts"),
    ("succeeded", "Succeeded"),
    ("success_rate", "Success rate"),
    ("mined", "Mined"),
    ("simulated", "Simulated (paper)"),
    ("reverted", "Reverted"),
    ("failed", "Failed (other)"),
    ("failed_by_class", "Failed by class"),
    ("cancelled", "Cancelled"),
    ("refused", "Refused by a limit"),
    ("refused_by_limit", "Refused by limit"),
    ("pending", "Pending (not settled)"),
    ("profit", "Realised profit"),
    ("gas", "Gas spent"),
    ("net", "Net result"),
    ("profit_quote", "Profit (quote)"),
    ("gas_quote", "Gas (quote)"),
    ("net_quote", "Net (quote)"),
    ("unpriced", "Unpriced trades"),
    ("win_rate", "Win rate"),
    ("average_trade", "Average trade"),
    ("best_trade", "Best trade"),
    ("worst_trade", "Worst trade"),
    ("profit_factor", "Profit factor"),
    ("expectancy", "Expectancy (per attempt)"),
    ("expectancy_ratio", "Expectancy ratio"),
    ("max_drawdown", "Maximum drawdown"),
    ("latency_p50_ms", "Latency p50 (ms)"),
    ("latency_p99_ms", "Latency p99 (ms)"),
    ("latency_samples", "Latency samples"),
)
RATES = {"success_rate", "win_rate"}


def cell(key: str, value: Any) -> str:
    if value is None:
        return "n/a"
    if key in RATES:
        return f"{value * 100:.2f}%"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) or "none"
    if isinstance(value, float):
        return f"{value:,.6g}"
    return str(value)


def _table(totals: dict[str, Any], pairs: dict[str, dict[str, Any]]) -> list[str]:
    names = list(pairs)
    head = "| Figure | Total | " + " | ".join(names) + " |"
    out = [head, "|" + "---|" * (2 + len(names))]
    for key, label in ROWS:
        cells = [cell(key, totals[key])] + [cell(key, pairs[n][key]) for n in names]
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def _targets(targets: list[dict[str, Any]]) -> list[str]:
    out = ["| Target | Value | Met |", "|---|---|---|"]
    for t in targets:
        met = {True: "yes", False: "**no**", None: "n/a (no trades)"}[t["met"]]
        value = t["value"]
        shown = (
            "n/a"
            if value is None
            else (f"{value * 100:.2f}%" if "rate" in t["target"] else f"{value:.2f}x gas")
        )
        out.append(f"| {t['source']} | {shown} | {met} |")
    return out


def _hold(h: dict[str, Any] | None, capital: str, quote: str | None) -> list[str]:
    if h is None:
        return ["Starting capital not given: no comparison with holding it."]
    out = [
        f"- Starting capital {h['starting_capital']} {capital}; after trading "
        f"{h['ending_capital_traded']} {capital} ({h['return_traded_pct']:.4f}% in {capital}; "
        f"held: 0%)."
    ]
    if h.get("priced"):
        out.append(
            f"- In {quote}: held {h['held_value_start_quote']:,.2f} -> "
            f"{h['held_value_end_quote']:,.2f} ({h['return_held_quote_pct']:.4f}%); traded -> "
            f"{h['traded_value_end_quote']:,.2f} ({h['return_traded_quote_pct']:.4f}%); "
            f"trading minus holding {h['traded_minus_held_quote']:,.2f} {quote}."
        )
    else:
        out.append(f"- No candles price both ends of the period in {quote or 'a quote currency'}.")
    return out


def markdown(report: dict[str, Any], charts: dict[str, str] | None = None) -> str:
    p = report["period"]
    capital = report["capital"]["symbol"]
    quote = report["quote"]["symbol"] if report["quote"] else None
    lines = [
        f"# {report['report'].capitalize()} trading report {p['label']}",
        "",
        f"Period [{p['start']}, {p['end']}), timezone {p['timezone']}; chain {report['chain_id']}; "
        f"generated {report['generated_at']}.",
        f"Amounts in {capital} (the capital token; gas is paid in the native token, priced 1:1)"
        + (
            f"; quote figures in {quote}, {report['quote']['source']}."
            if quote
            else "; no candles to price them in a quote currency."
        ),
        "",
    ]
    for mode, data in report["modes"].items():
        tot = data["totals"]
        lines += [f"## {mode.capitalize()} trading", ""]
        if (
            tot["attempts"] == 0
            and tot["refused"] == 0
            and tot["pending"] == 0
            and tot["gas"] == "0"
        ):
            lines += [f"No {mode} trades in this period.", ""]
            continue
        lines += [*_table(tot, data["by_pair"]), ""]
        lines += ["### Targets (operations manuals)", "", *_targets(data["targets"]), ""]
        lines += ["### Against holding the starting capital", ""]
        lines += [*_hold(data["hold_comparison"], capital, quote), ""]
        for name, path in (charts or {}).items():
            if name.startswith(mode + "_"):
                lines += [f"![{name}]({path})", ""]
    lines += ["## Definitions", ""]
    lines += [f"- **{k}**: {v}" for k, v in report["definitions"].items()]
    return "\n".join(lines) + "\n"
