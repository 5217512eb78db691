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
import logging
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

from edge_node.chain import abi
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, bot_nonce, capital_balance, deploy_arbitrage
from edge_node.devchain.market import DeployedMarket, prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator
from edge_node.service import EdgeNode
from edge_node.store import reader
from shared.config import NodeConfig, parse_config

log = logging.getLogger(__name__)

DEMO_CHAIN_ID = 31337
CATCH_UP_TIMEOUT_S = 60.0


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


def trading_sections(setup: ArbSetup) -> dict[str, Any]:
    """The strategy, risk and execution sections for the demo's arbitrage setup."""
    first, second = setup.arb_pairs
    return {
        "strategy": {
            "pairs": [{"pools": [first.name, second.name], "capital": setup.capital_token}],
            "min_profit": "0.0002",
            "max_input": "20",
            "gas_limit": 200_000,
        },
        "risk": {
            "max_trade_size": "25",
            "max_daily_loss": "1",
            "max_gas_price_gwei": 50,
            "min_gas_balance": "1",
            "max_consecutive_failures": 5,
            "max_data_age_s": 30,
        },
        "execution": {
            "executor": setup.executor.lower(),
            "owner": setup.bot.address.lower(),
            "tx_type": "legacy",
            "replace_after_blocks": 3,
        },
    }


def node_config_for(
    anvil: Anvil,
    market: DeployedMarket,
    store_url: str,
    api_token: str,
    *,
    api_port: int = 0,
    websocket: bool = True,
    endpoints: list[dict[str, Any]] | None = None,
    trading: dict[str, Any] | None = None,
    **chain: Any,
) -> NodeConfig:
    """A node config that follows every pair of a deployed demo market (and trades if asked)."""
    data: dict[str, Any] = {
        "chain": {
            "name": "anvil",
            "chain_id": anvil.chain_id,
            "local": True,
            "start_block": market.start_block,
            "liveness_timeout_s": 10.0,
            "poll_interval_s": 0.25,
            "probe_interval_s": 2.0,
            "request_timeout_s": 5.0,
            **chain,
        },
        "endpoints": endpoints
        or [{"name": "anvil", "ws_url": anvil.ws_url, "http_url": anvil.http_url}],
        "pools": [
            {
                "name": p.name,
                "address": p.address.lower(),
                "kind": "v2",
                "token0": p.symbol0,
                "token1": p.symbol1,
                "decimals0": p.decimals0,
                "decimals1": p.decimals1,
                "base": "token0" if p.base_is_token0 else "token1",
                "fee_bps": p.fee_bps,
            }
            for p in market.pairs
        ],
        "store": {"url": store_url},
        "api": {"host": "127.0.0.1", "port": api_port, "token": api_token},
        "health": {"max_block_age_s": 15.0},
        "websocket": websocket,
        **(trading or {}),
    }
    return parse_config(data, source="demo", env={})


def chain_swap_keys(anvil: Anvil, market: DeployedMarket, to_block: int) -> set[tuple[str, int]]:
    """Every Swap log of the demo pairs, straight from the chain."""
    logs = anvil.rpc(
        "eth_getLogs",
        [
            {
                "fromBlock": hex(market.start_block),
                "toBlock": hex(to_block),
                "address": [p.address for p in market.pairs],
                "topics": [[abi.V2_SWAP]],
            }
        ],
    )
    return {(lg["blockHash"].lower(), int(lg["logIndex"], 16)) for lg in logs}


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
    before = await asyncio.to_thread(_bot_state, anvil, setup)
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
            print(_status(node, now - started, rate, counts), flush=True)
            if opts.duration is not None and now - started >= opts.duration:
                break
    finally:
        print("stopping traffic…", flush=True)
        await asyncio.to_thread(traffic.stop)
    summary = await _finish(node, node_task, stop_node, anvil, market, traffic, started)
    summary["trading"] = await _trading_summary(node, anvil, setup, before, opts.live)
    summary["ok"] = summary["ok"] and summary["trading"]["ok"]
    text = json.dumps(summary, indent=2)
    if opts.summary_json is not None:
        opts.summary_json.parent.mkdir(parents=True, exist_ok=True)
        opts.summary_json.write_text(text + "\n")
        print(f"summary written to {opts.summary_json}")
    print(text)
    return 0 if summary["ok"] else 1


def _bot_state(anvil: Anvil, setup: ArbSetup) -> dict[str, int]:
    balance = int(anvil.rpc("eth_getBalance", [setup.bot.address, "latest"]), 16)
    return {
        "capital": capital_balance(anvil, setup),
        "native": balance,
        "nonce": bot_nonce(anvil, setup),
    }


async def _trading_summary(
    node: EdgeNode, anvil: Anvil, setup: ArbSetup, before: dict[str, int], live: bool
) -> dict[str, Any]:
    from shared.reports import queries as journal

    after = await asyncio.to_thread(_bot_state, anvil, setup)
    rows = await asyncio.to_thread(journal.trades, node.engine, node.cfg.chain.chain_id, 1000)
    by_status: dict[str, int] = {}
    for t in rows:
        by_status[t["status"]] = by_status.get(t["status"], 0) + 1
    sent = after["nonce"] - before["nonce"]
    unmatched = await asyncio.to_thread(_unmatched_trades, anvil, rows) if live else []
    ok = not unmatched and (live or sent == 0)
    return {
        "ok": ok,
        "mode": "live" if live else "paper",
        "trades": len(rows),
        "by_status": by_status,
        "capital_before": str(before["capital"]),
        "capital_after": str(after["capital"]),
        "profit": str(after["capital"] - before["capital"]),
        "gas_spent": str(before["native"] - after["native"]),
        "transactions_sent_by_bot": sent,
        "trades_not_matching_a_receipt": unmatched,
    }


def _unmatched_trades(anvil: Anvil, rows: list[dict[str, Any]]) -> list[int]:
    """Live trades whose stored outcome does not match the receipt on chain."""
    bad = []
    for t in rows:
        if t["mode"] != "live" or t["status"] not in ("mined", "reverted"):
            continue
        receipt = anvil.rpc("eth_getTransactionReceipt", [t["tx_hash"]])
        ok = receipt is not None and (int(receipt["status"], 16) == 1) == (t["status"] == "mined")
        if not ok or int(receipt["blockNumber"], 16) != t["block_number"]:
            bad.append(t["id"])
    return bad


def _status(node: EdgeNode, elapsed: float, rate: float, counts: dict[str, int]) -> str:
    head = node.book.head
    pools = node.pools_detail()
    prices = "  ".join(f"{p['name']} {_fmt(p['live_price'])}" for p in pools)
    first = node.pool_infos[0]
    candle = node.book.pools[first.address].candles[0]
    forming = (
        f"{node.intervals()[0]} {first.name}: O {_fmt(candle.open)} H {_fmt(candle.high)} "
        f"L {_fmt(candle.low)} C {_fmt(candle.close)}, {candle.trades} trades"
        if candle is not None
        else "no candle yet"
    )
    trading = ""
    if node.desk is not None and node.desk.trader is not None:
        t = node.desk.trader
        done = ", ".join(f"{n} {st}" for (_, st), n in sorted(t.counters.by_status.items()))
        trading = (
            f"\n          trading ({t.mode}, {node.desk.control.state.value}): "
            f"{done or 'no trade yet'} | capital {t.gauges.capital / 1e18:.6f} "
            f"| pending {len(t.pending)}"
        )
    return (
        f"[{elapsed:6.1f}s] block {head.number if head else '-'} (head lag "
        f"{node.metrics.head_lag_blocks}) | {rate:5.1f} swaps/s, {node.book.counters.swaps} "
        f"swaps, {counts['swaps']} stored | candles {counts['candles']} "
        f"({counts['closed_candles']} closed)\n          {prices}\n          {forming}{trading}"
    )


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}"


async def _finish(
    node: EdgeNode,
    node_task: asyncio.Task[None],
    stop_node: asyncio.Event,
    anvil: Anvil,
    market: DeployedMarket,
    traffic: TrafficGenerator,
    started: float,
) -> dict[str, Any]:
    if node.desk is not None:
        # No new trades from here on, and the ones in flight settle, so the chain's final
        # block is final for the node too.
        await node.desk.control_service.pause("demo", "demo ending")
        if node.desk.trader is not None:
            await node.desk.trader.drain(30)
    final = await asyncio.to_thread(anvil.block_number)
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_S
    while not node_task.done() and time.monotonic() < deadline:
        head = node.book.head
        if head is not None and head.number >= final and node.writer.queue_depth() == 0:
            break
        await asyncio.sleep(0.2)
    processed = node.book.head.number if node.book.head else None
    stop_node.set()
    error = None
    try:
        await node_task
    except Exception as err:
        error = f"{type(err).__name__}: {err}"
    on_chain = await asyncio.to_thread(chain_swap_keys, anvil, market, final)
    stored = await asyncio.to_thread(reader.swap_keys, node.engine, node.cfg.chain.chain_id)
    counts = await asyncio.to_thread(reader.counts, node.engine, node.cfg.chain.chain_id)
    # Traffic stopped (and its receipts settled) before `final` was read: no swap after it.
    missing, extra = on_chain - stored, stored - on_chain
    errors = {
        "market_data_errors": sum(node.metrics.market_data_errors.values()),
        "db_errors": node.writer.stats.db_errors,
        "node_error": error,
        "traffic_failed": traffic.failed,
    }
    ok = (
        not missing
        and not extra
        and error is None
        and errors["market_data_errors"] == 0
        and processed is not None
        and processed >= final
    )
    return {
        "ok": ok,
        "chain_id": node.cfg.chain.chain_id,
        "duration_s": round(time.monotonic() - started, 1),
        "blocks": {
            "first": market.start_block,
            "last_on_chain": final,
            "processed": processed,
            "reorgs": node.metrics.reorgs,
        },
        "swaps": {
            "on_chain": len(on_chain),
            "stored": len(stored),
            "missing": len(missing),
            "extra": len(extra),
            "match": not missing and not extra,
        },
        "candles": {"stored": counts["candles"], "closed": counts["closed_candles"]},
        "traffic": {"sent": traffic.sent, "succeeded": traffic.succeeded, "failed": traffic.failed},
        "errors": errors,
        "websocket_reconnects": node.metrics.websocket_reconnects,
    }
