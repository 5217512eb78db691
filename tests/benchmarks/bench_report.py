"""A monthly report over N trades (default 100,000): ours beside a naive row-by-row baseline.

Ours: ``functions.report.build.build`` (three set queries, then the pure figures core).
Baseline, in the same run on the same store: what a straightforward script does, row by row:
for each trade one query for its journal transactions' gas and one for the candle that prices
it, summing as it goes. Both must agree on the figures they share (checked, printed).
Prints one JSON object. Target (issue 8): the monthly report under 5 s.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from functions.report import build
from shared.db import schema
from shared.db.engine import create_engine, migrate
from shared.reports.period import period_containing
from tests.support.journal_builder import CHAIN, POOLS, WBNB, register_pools

MONTH = datetime(2024, 3, 1, tzinfo=UTC)
STATUSES = ["mined"] * 70 + ["reverted"] * 15 + ["cancelled"] * 5 + ["failed"] * 3 + ["refused"] * 7


def generate(engine: Engine, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    register_pools(engine)
    seconds = 31 * 86_400
    with engine.begin() as conn:
        conn.execute(
            schema.candles.insert(),
            [
                {
                    "chain_id": CHAIN,
                    "pool": POOLS["alpha"],
                    "interval": "1m",
                    "open_time": int(MONTH.timestamp()) - 86_400 + 60 * i,
                    "open": 300.0,
                    "high": 300.0,
                    "low": 300.0,
                    "close": 300.0 + (i % 500) / 10,
                    "volume_base": 1.0,
                    "volume_quote": 300.0,
                    "trades": 1,
                    "first_block": 1,
                    "last_block": 1,
                    "closed": True,
                }
                for i in range((seconds + 86_400) // 60)
            ],
        )
    pairs = [("alpha", "beta"), ("beta", "alpha"), ("alpha", "gamma")]
    batch = 10_000
    for lo in range(0, n, batch):
        trades, txs = [], []
        for i in range(lo, min(n, lo + batch)):
            status = rng.choice(STATUSES)
            mode = "paper" if i % 10 == 0 else "live"
            at = MONTH + timedelta(seconds=rng.randrange(seconds))
            profit = rng.randrange(10**14, 10**16) if status == "mined" else 0
            a, b = rng.choice(pairs)
            trades.append(
                {
                    "id": i + 1,
                    "chain_id": CHAIN,
                    "created_at": at,
                    "updated_at": at,
                    "mode": mode,
                    "strategy": "two_pool_arbitrage",
                    "pool_buy": POOLS[a],
                    "pool_sell": POOLS[b],
                    "token_in": WBNB,
                    "amount_in": 10**18,
                    "expected_profit": 10**15,
                    "min_profit": 0,
                    "gas_limit": 250_000,
                    "gas_price": 5 * 10**9,
                    "status": status,
                    "profit": profit,
                    "gas_cost": 10**15 if mode == "paper" else None,
                    "trigger_block": 1,
                    "trigger_log_index": 0,
                    "detail": json.dumps(
                        {"latency_s": {"accepted": rng.uniform(0.002, 0.02)}}
                        if mode == "live"
                        else {}
                    ),
                }
            )
            if mode == "live" and status in ("mined", "reverted", "cancelled"):
                txs.append(
                    {
                        "chain_id": CHAIN,
                        "sender": "0x" + "0e" * 20,
                        "nonce": i,
                        "tx_hash": f"0x{i:064x}",
                        "raw_tx": "0x00",
                        "kind": "cancel" if status == "cancelled" else "trade",
                        "trade_id": i + 1,
                        "gas_price": 5 * 10**9,
                        "status": "reverted" if status == "reverted" else "mined",
                        "created_at": at,
                        "gas_used": rng.randrange(21_000, 250_000),
                        "effective_gas_price": 5 * 10**9,
                    }
                )
        with engine.begin() as conn:
            conn.execute(schema.trades.insert(), trades)
            if txs:
                conn.execute(schema.tx_journal.insert(), txs)


def naive(engine: Engine) -> dict[str, Any]:
    """Row by row: the trades joined with their paid transactions, then a candle query per
    trade for its price, summing as it goes."""
    period = period_containing("monthly", MONTH.date())
    t, j, c = schema.trades, schema.tx_journal, schema.candles
    out = {
        m: {"attempts": 0, "succeeded": 0, "profit": 0, "gas": 0, "net_quote": 0.0}
        for m in ("live", "paper")
    }
    attempted = ("mined", "reverted", "failed", "cancelled", "simulated", "simulation_failed")
    paid = j.c.status.in_(("mined", "reverted"))
    with engine.connect() as conn:
        rows = conn.execute(
            select(t, j.c.gas_used.label("tx_gas"), j.c.effective_gas_price.label("tx_price"))
            .select_from(t.outerjoin(j, (j.c.trade_id == t.c.id) & paid))
            .where(t.c.created_at >= period.start, t.c.created_at < period.end)
        ).all()
        for r in rows:
            if r.status not in attempted:
                continue
            o = out[r.mode]
            o["attempts"] += 1
            o["succeeded"] += r.status in ("mined", "simulated")
            if r.mode == "live":
                gas = int(r.tx_gas or 0) * int(r.tx_price or 0)
            else:
                gas = int(r.gas_cost or 0)
            created = r.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            price = conn.execute(
                select(c.c.close)
                .where(
                    c.c.chain_id == CHAIN,
                    c.c.pool == POOLS["alpha"],
                    c.c.interval == "1m",
                    c.c.open_time <= created.timestamp(),
                )
                .order_by(c.c.open_time.desc())
                .limit(1)
            ).scalar_one()
            profit = int(r.profit or 0)
            o["profit"] += profit
            o["gas"] += gas
            o["net_quote"] += (profit - gas) * price / 1e18
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trades", type=int, default=100_000)
    ap.add_argument("--db", help="store URL (default: a fresh SQLite file)")
    ap.add_argument("--charts", action="store_true", help="also time drawing the PNG charts")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(args.db or f"sqlite:///{tmp}/bench.db")
        migrate(engine)
        t0 = time.perf_counter()
        generate(engine, args.trades)
        generated_s = time.perf_counter() - t0
        period = period_containing("monthly", MONTH.date())
        gc.collect()  # the generator's garbage is not the report's to pay for
        t0, c0 = time.perf_counter(), time.process_time()
        report = build.build(engine, period)
        ours_s, ours_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        charts_s = None
        if args.charts:
            from functions.report import charts

            t0 = time.perf_counter()
            charts.draw(report)
            charts_s = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        base = naive(engine)
        naive_s, naive_cpu_s = time.perf_counter() - t0, time.process_time() - c0
        engine.dispose()
    same = all(
        report["modes"][m]["totals"]["attempts"] == base[m]["attempts"]
        and report["modes"][m]["totals"]["succeeded"] == base[m]["succeeded"]
        and abs(report["modes"][m]["totals"]["net_quote"] - base[m]["net_quote"]) < 1e-6
        for m in ("live", "paper")
    )
    print(
        json.dumps(
            {
                "benchmark": "monthly report",
                "store": "postgresql" if args.db and "postgres" in args.db else "sqlite",
                "trades": args.trades,
                "generate_s": round(generated_s, 2),
                "ours_s": round(ours_s, 3),
                "ours_cpu_s": round(ours_cpu_s, 3),
                "charts_s": None if charts_s is None else round(charts_s, 3),
                "baseline_row_by_row_s": round(naive_s, 3),
                "baseline_cpu_s": round(naive_cpu_s, 3),
                "load_average_1m": round(os.getloadavg()[0], 2),
                "speedup_vs_baseline": round(naive_s / ours_s, 1) if ours_s else None,
                "same_figures": same,
                "target_s": 5.0,
                "meets_target": ours_s < 5.0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
