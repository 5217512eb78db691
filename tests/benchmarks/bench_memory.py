"""Benchmark: the node's resident memory with 500 pools after a day of 1m candles.

Each role runs in its own process, so one measurement cannot inflate the other:

- ``node``: the node's own components (the MarketBook, the StoreWriter thread, the SQLite store,
  built exactly as ``EdgeNode`` builds them) fed one synthetic day as fast as they take it, the
  way a backfill after a day's downtime would: 28,800 blocks (3 s each), every pool swapping at
  least once a minute (720,000 swaps, 1.44 million events, a 1m candle per pool per minute).
- ``naive`` (the baseline): the same day kept the way a bot without a store would, every candle
  of every interval as an object in memory.

Prints one JSON object: both resident set sizes, the ratio, and whether the node stays under the
150 MB target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_MB = 150.0
POOLS = 500
DAY_S = 86_400
BLOCK_S = 3
SWAPS_PER_BLOCK = 25  # 500 pools over 20 blocks a minute: each pool once a minute


def _rss_mb() -> tuple[float, float]:
    import resource

    import psutil

    current = psutil.Process().memory_info().rss / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return round(current, 1), round(peak, 1)


def _day() -> Any:
    """Yield (header, events) for a synthetic day, round-robin over the pools."""
    from edge_node.chain.events import BlockHeader, SwapV2Event, SyncEvent

    addresses = [f"0x{i + 1:040x}" for i in range(POOLS)]
    t0 = 1_700_006_400 - 1_700_006_400 % DAY_S
    parent = "0x" + "00" * 32
    reserves = [(10**21, 6 * 10**23)] * POOLS
    tx = "0x" + "11" * 32
    topic = "0x" + "0" * 24 + "22" * 20
    for b in range(DAY_S // BLOCK_S):
        h = "0x" + f"{b + 1:064x}"
        header = BlockHeader(b + 1, h, parent, t0 + b * BLOCK_S)
        events: list[Any] = []
        for k in range(SWAPS_PER_BLOCK):
            p = (b * SWAPS_PER_BLOCK + k) % POOLS
            r0, r1 = reserves[p]
            r0, r1 = r0 + 10**15, r1 - 599 * 10**15
            reserves[p] = (r0, r1)
            events.append(SyncEvent(addresses[p], b + 1, h, 2 * k, tx, False, r0, r1))
            events.append(
                SwapV2Event(
                    addresses[p],
                    b + 1,
                    h,
                    2 * k + 1,
                    tx,
                    False,
                    topic,
                    topic,
                    10**15,
                    0,
                    0,
                    599 * 10**15,
                )
            )
        yield header, events
        parent = h


def role_node() -> dict[str, Any]:
    from edge_node.service import EdgeNode
    from edge_node.store import reader
    from edge_node.store.batches import CommitOp, RegisterPoolsOp
    from shared.config import parse_config

    tmp = tempfile.mkdtemp()
    pools = [
        {
            "name": f"P{i}",
            "address": f"0x{i + 1:040x}",
            "token0": "A",
            "token1": "B",
            "decimals0": 18,
            "decimals1": 18,
        }
        for i in range(POOLS)
    ]
    cfg = parse_config(
        {
            "chain": {"chain_id": 31337, "local": True},
            "endpoints": [{"name": "none", "ws_url": "ws://127.0.0.1:1"}],
            "pools": pools,
            "store": {"url": f"sqlite:///{tmp}/edge.db"},
            "api": {"token": "x" * 24},
        },
        env={},
    )
    node = EdgeNode(cfg)  # builds book, writer and store as the running node does
    node._resume()
    node.writer.start()
    node.writer.submit(RegisterPoolsOp(node.pool_infos))
    started = time.monotonic()
    samples = []
    for i, (header, events) in enumerate(_day()):
        commit = node.book.apply_block(header, events, verified=False)
        while node.writer.queue_full():
            time.sleep(0.005)  # what submit_async does for the follower: backpressure
        node.writer.submit(CommitOp(commit))
        if i % 2000 == 0:
            samples.append(_rss_mb()[0])
    assert node.writer.flush(600)
    elapsed = time.monotonic() - started
    current, peak = _rss_mb()
    counts = reader.counts(node.engine, 31337)
    node.writer.stop()
    return {
        "rss_mb": current,
        "peak_rss_mb": peak,
        "rss_samples_mb": samples,
        "seconds": round(elapsed, 1),
        "swaps_stored": counts["swaps"],
        "candles_stored": counts["candles"],
        "db_size_mb": round(os.path.getsize(f"{tmp}/edge.db") / 2**20, 1),
    }


def role_naive() -> dict[str, Any]:
    """The baseline: the same day with every candle kept in memory (no store)."""
    import edge_node.service  # noqa: F401  (the same imports as the node, for a fair RSS)
    from edge_node.market.candles import Candle

    history: dict[tuple[str, int, int], Candle] = {}
    started = time.monotonic()
    for header, events in _day():
        for ev in events:
            if not hasattr(ev, "amount0_in"):
                continue
            for seconds in (60, 300, 3600):
                start = header.timestamp - header.timestamp % seconds
                key = (ev.pool, seconds, start)
                c = history.get(key)
                if c is None:
                    history[key] = Candle(
                        start, seconds, 600.0, 600.0, 600.0, 600.0, 1.0, 600.0, 1, 1, 1
                    )
                else:
                    c.trades += 1
    current, peak = _rss_mb()
    return {
        "rss_mb": current,
        "peak_rss_mb": peak,
        "seconds": round(time.monotonic() - started, 1),
        "candles_in_memory": len(history),
    }


def _run_role(role: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--role", role],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--role", choices=["node", "naive"])
    args = ap.parse_args(argv)
    if args.role == "node":
        print(json.dumps(role_node()))
        return 0
    if args.role == "naive":
        print(json.dumps(role_naive()))
        return 0
    node, naive = _run_role("node"), _run_role("naive")
    print(
        json.dumps(
            {
                "benchmark": "memory: 500 pools, a day of 1m candles",
                "workload": {
                    "pools": POOLS,
                    "blocks": DAY_S // BLOCK_S,
                    "swaps": DAY_S // BLOCK_S * SWAPS_PER_BLOCK,
                    "events": 2 * DAY_S // BLOCK_S * SWAPS_PER_BLOCK,
                },
                "ours": node,
                "baseline_in_memory_candles": naive,
                "ratio_peak_rss": round(naive["peak_rss_mb"] / node["peak_rss_mb"], 2),
                "target_mb": TARGET_MB,
                "meets_target": node["peak_rss_mb"] < TARGET_MB,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
