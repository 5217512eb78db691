"""Record a real subscription stream from anvil: the raw websocket messages, as received.

Deploys the demo market plus extra pairs on a local anvil, drives swap traffic at it, and
records every ``eth_subscription`` message of a ``newHeads`` and a ``logs`` subscription
(the same two the node makes). The recording is what ``bench_ingest.py`` replays.

    .venv/bin/python tests/benchmarks/record_stream.py --messages 4000
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import time
from pathlib import Path

import websockets

from edge_node.chain.abi import ALL_TOPICS
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import DEFAULT_DEMO_MARKET, PairSpec, deploy_market, prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator

DATA = Path(__file__).resolve().parent / "data" / "anvil_stream.jsonl.gz"


def _extra_pairs(n: int) -> list[PairSpec]:
    return [
        PairSpec(f"TK{i}", "USDT", 18, 18, price=1.0 + i, base_liquidity=1_000_000.0, fee_bps=25)
        for i in range(n)
    ]


async def _record(ws_url: str, addresses: list[str], count: int) -> list[str]:
    out: list[str] = []
    async with websockets.connect(ws_url, compression=None, max_size=None) as ws:
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "eth_subscribe", "params": ["newHeads"]}
            )
        )
        await ws.recv()
        params = {"address": addresses, "topics": [list(ALL_TOPICS)]}
        await ws.send(
            json.dumps(
                {"jsonrpc": "2.0", "id": 2, "method": "eth_subscribe", "params": ["logs", params]}
            )
        )
        await ws.recv()
        while len(out) < count:
            msg = await ws.recv()
            out.append(msg if isinstance(msg, str) else msg.decode())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=4000)
    ap.add_argument("--pairs", type=int, default=16, help="extra pairs besides the demo market")
    ap.add_argument("--rate", type=float, default=150.0)
    ap.add_argument("--out", type=Path, default=DATA)
    args = ap.parse_args(argv)
    started = time.monotonic()
    with Anvil() as anvil:  # automine while deploying, then blocks every second like a chain
        market = deploy_market(anvil, [*DEFAULT_DEMO_MARKET, *_extra_pairs(args.pairs)])
        traders = prepare_traders(anvil, market, list(range(1, 9)))
        anvil.set_interval_mining(1)
        sizing = SwapSizing(
            min_fraction=1e-5, max_fraction=2e-3, large_probability=0.02, large_max_fraction=1e-2
        )
        with TrafficGenerator(
            anvil.http_url, market, traders, rate=args.rate, seed=1, sizing=sizing
        ):
            messages = asyncio.run(
                _record(anvil.ws_url, [p.address.lower() for p in market.pairs], args.messages)
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as f:
        for m in messages:
            f.write(m + "\n")
    print(
        json.dumps(
            {
                "recorded": len(messages),
                "out": str(args.out),
                "seconds": round(time.monotonic() - started, 1),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
