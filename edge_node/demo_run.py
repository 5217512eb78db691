"""``edge-node demo``: the whole listening loop on a laptop, with nothing but the repository.

It starts a local anvil chain (its own chain id), deploys our PancakeSwap-V2-compatible pairs
and test tokens, drives swaps of varied sizes at them, and runs the edge node against it with
the SQLite store, printing what the node sees. At the end it checks the node's work against
the chain: the set of swaps stored must equal the set of Swap logs ``eth_getLogs`` returns over
the whole range. The exit code says whether it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_node.demo import DEMO_CHAIN_ID, node_config_for, trading_sections
from edge_node.demo_report import bot_state, finish, status_line, trading_summary
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, deploy_arbitrage
from edge_node.devchain.market import prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator
from edge_node.service import EdgeNode
from edge_node.store import reader
from shared.config import NodeConfig


@dataclass
class DemoOptions:
    duration: float | None = None
    summary_json: Path | None = None
    data_dir: Path = Path("data/demo")
    rate: float = 20.0
    block_time: float = 1.0
    api_port: int = 8080
    websocket: bool = True
    seed: int | None = None
    traders: int = 6
    live: bool = False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _prepare_data_dir(path: Path) -> str:
    """A fresh SQLite file per run: each demo chain is a new chain (new genesis)."""
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("edge.db*"):
        old.unlink()
    return f"sqlite:///{path.resolve()}/edge.db"


def run_demo(opts: DemoOptions) -> int:
    if shutil.which("node") is None:
        print(
            "edge-node demo: Node.js is needed for the npm tools; run ./scripts/setup",
            file=sys.stderr,
        )
        return 2
    store_url = _prepare_data_dir(opts.data_dir)
    token = "dev-" + secrets.token_urlsafe(18)
    api_port = opts.api_port
    if api_port and not _port_free(api_port):
        print(f"port {api_port} is taken; the API will listen on a free port instead")
        api_port = 0
    print(f"starting anvil (chain id {DEMO_CHAIN_ID}, block time {opts.block_time}s)…", flush=True)
    # Deploy under automine (every transaction mined at once), then mine blocks on a clock
    # like a real chain; anvil's interval mining takes whole seconds only.
    whole_seconds = opts.block_time >= 1 and opts.block_time == int(opts.block_time)
    with Anvil(
        chain_id=DEMO_CHAIN_ID, block_time=None if whole_seconds else opts.block_time
    ) as anvil:
        t0 = time.monotonic()
        setup = deploy_arbitrage(anvil)
        market = setup.market
        traders = prepare_traders(anvil, market, list(range(1, 1 + opts.traders)))
        if whole_seconds:
            anvil.set_interval_mining(int(opts.block_time))
        print(
            f"deployed {len(market.pairs)} pairs, {len(market.tokens)} tokens and the arbitrage "
            f"executor in {time.monotonic() - t0:.1f}s: {', '.join(p.name for p in market.pairs)}",
            flush=True,
        )
        cfg = node_config_for(
            anvil,
            market,
            store_url,
            token,
            api_port=api_port,
            websocket=opts.websocket,
            trading=trading_sections(setup),
        )
        if opts.live:
            # The bot is an anvil dev account: its key is public, valid on this chain only.
            os.environ["EDGE_SIGNER_KEY"] = setup.bot.private_key
        return asyncio.run(_run(opts, cfg, anvil, setup, traders))


async def _run(
    opts: DemoOptions,
    cfg: NodeConfig,
    anvil: Anvil,
    setup: ArbSetup,
    traders: list[Any],
) -> int:
    market = setup.market
    stop_node = asyncio.Event()
    stop_demo = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop_demo.set)
    before = await asyncio.to_thread(bot_state, anvil, setup)
    node = EdgeNode(cfg, live=opts.live)
    ready = asyncio.Event()
    node_task = asyncio.create_task(node.run(stop_node, ready))
    await asyncio.wait(
        [asyncio.ensure_future(ready.wait()), node_task], return_when="FIRST_COMPLETED"
    )
    if node_task.done():
        node_task.result()  # raises the start-up error
    assert node.api is not None
    base = f"http://127.0.0.1:{node.api.port}"
    auth = f"-H 'Authorization: Bearer {cfg.api_token()}'"
    pair = market.pairs[0].name
    print(f"\nedge node API: {base}   development token: {cfg.api_token()}")
    print(f"  curl {base}/healthz")
    print(f"  curl {auth} {base}/health")
    print(f"  curl {auth} '{base}/api/v1/candles/{pair}?interval=1m&limit=5'")
    print(f"  store: {cfg.store.url}\n", flush=True)

    # Sizes of a liquid market: mostly under 0.2% of a reserve, now and then up to 1%.
    sizing = SwapSizing(
        min_fraction=1e-5, max_fraction=2e-3, large_probability=0.02, large_max_fraction=1e-2
    )
    traffic = TrafficGenerator(
        anvil.http_url, market, traders, rate=opts.rate, seed=opts.seed, sizing=sizing
    )
    traffic.start()
    started = time.monotonic()
    last_swaps, last_t = 0, started
    try:
        while not stop_demo.is_set() and not node_task.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_demo.wait(), 2.0)
            now = time.monotonic()
            swaps = node.book.counters.swaps
            rate = (swaps - last_swaps) / max(1e-9, now - last_t)
            last_swaps, last_t = swaps, now
            counts = await asyncio.to_thread(reader.counts, node.engine, cfg.chain.chain_id)
            print(status_line(node, now - started, rate, counts), flush=True)
            if opts.duration is not None and now - started >= opts.duration:
                break
    finally:
        print("stopping traffic…", flush=True)
        await asyncio.to_thread(traffic.stop)
    summary = await finish(node, node_task, stop_node, anvil, market, traffic, started)
    summary["trading"] = await trading_summary(node, anvil, setup, before, opts.live)
    summary["ok"] = summary["ok"] and summary["trading"]["ok"]
    text = json.dumps(summary, indent=2)
    if opts.summary_json is not None:
        opts.summary_json.parent.mkdir(parents=True, exist_ok=True)
        opts.summary_json.write_text(text + "\n")
        print(f"summary written to {opts.summary_json}")
    print(text)
    return 0 if summary["ok"] else 1
