"""PNG charts of a report (matplotlib, Agg backend, imported only when drawing: the report
function is the one allowed over the cold-start target for it)."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


def draw(report: dict[str, Any]) -> dict[str, bytes]:
    """Chart name -> PNG bytes, per mode with trades: ``<mode>_cumulative_net`` and
    ``<mode>_activity`` (attempts and success rate per hour or day)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, bytes] = {}
    capital = report["capital"]["symbol"]
    unit = "hour" if report["report"] == "daily" else "day"
    for mode, data in report["modes"].items():
        series = data["series"]
        if not any(b["attempts"] for b in series) and data["totals"]["gas"] == "0":
            continue
        when: Any = [datetime.fromtimestamp(b["start"], UTC) for b in series]
        fig, ax = plt.subplots(figsize=(9, 3.5))
        ax.step(when, [float(Decimal(b["cumulative_net"])) for b in series], where="post")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_title(f"{mode}: cumulative net ({capital}), {report['period']['label']} UTC")
        ax.set_ylabel(capital)
        fig.autofmt_xdate()
        out[f"{mode}_cumulative_net"] = _png(fig, plt)
        fig, ax = plt.subplots(figsize=(9, 3.5))
        width = (1 / 24 if unit == "hour" else 1) * 0.8
        ax.bar(when, [b["attempts"] for b in series], width=width, align="edge", label="attempts")
        ax.set_ylabel(f"attempts per {unit}")
        rate = ax.twinx()
        rate.plot(
            when,
            [math.nan if b["success_rate"] is None else b["success_rate"] * 100 for b in series],
            color="tab:green",
            marker=".",
            label="success rate",
        )
        rate.set_ylim(0, 100)
        rate.set_ylabel("success rate %")
        ax.set_title(f"{mode}: attempts and success rate per {unit} (UTC)")
        fig.autofmt_xdate()
        out[f"{mode}_activity"] = _png(fig, plt)
    return out


def _png(fig: Any, plt: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
