"""What ``edge-node demo`` shows and checks: the status line printed every few seconds, and at
the end the node's work against the chain (the swaps stored are the chain's Swap logs, the live
trades' outcomes are their receipts')."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from edge_node.chain import abi
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, bot_nonce, capital_balance
from edge_node.devchain.market import DeployedMarket
from edge_node.devchain.traffic import TrafficGenerator
from edge_node.service import EdgeNode
from edge_node.store import reader

CATCH_UP_TIMEOUT_S = 60.0


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


def bot_state(anvil: Anvil, setup: ArbSetup) -> dict[str, int]:
    balance = int(anvil.rpc("eth_getBalance", [setup.bot.address, "latest"]), 16)
    return {
        "capital": capital_balance(anvil, setup),
        "native": balance,
        "nonce": bot_nonce(anvil, setup),
    }


async def trading_summary(
    node: EdgeNode, anvil: Anvil, setup: ArbSetup, before: dict[str, int], live: bool
) -> dict[str, Any]:
    from shared.reports import queries as journal

    after = await asyncio.to_thread(bot_state, anvil, setup)
    rows = await asyncio.to_thread(journal.trades, node.engine, node.cfg.chain.chain_id, 1000)
    by_status: dict[str, int] = {}
    for t in rows:
        by_status[t["status"]] = by_status.get(t["status"], 0) + 1
    sent = after["nonce"] - before["nonce"]
    unmatched = await asyncio.to_thread(unmatched_trades, anvil, rows) if live else []
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


def unmatched_trades(anvil: Anvil, rows: list[dict[str, Any]]) -> list[int]:
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


def status_line(node: EdgeNode, elapsed: float, rate: float, counts: dict[str, int]) -> str:
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


async def finish(
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
