"""Benchmark: end to end on anvil, from the block carrying a triggering swap to our transaction
reaching the node.

A local chain that mines only when told to. Each trial sends a swap that opens a price gap
between the demo's two pools (alternately up and down), then starts the clock and asks anvil
to mine the block holding it. The clock stops when ``eth_sendRawTransaction`` has returned for
the arbitrage: the transaction has reached the node. Then one more block settles it.

``ours``: the edge node in live mode (websocket subscription, strategy, risk gate, signing, the
journal made durable, then the broadcast), with the time split into stages from the moment the
pool update reached the trader; ``durability`` says what was on disk before the broadcast.
``baseline``: the same bot written plainly with web3.py (``AsyncWeb3`` over a websocket,
``process_log``, the same strategy maths, ``Account.sign_transaction``,
``send_raw_transaction``), run in the same process after ours. The baseline journals
nothing, so its figure is a lower bound for a web3.py bot that does.

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from typing import Any

from edge_node.chain import abi
from edge_node.service import EdgeNode
from tests.benchmarks.bench_latency import SYNC_ABI, plain_best
from tests.support.node import running
from tests.support.trading import ArbChain, caught_up_to, start_arb_chain, trader_ready
from tests.support.waiting import eventually_async


def _ms(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    qs = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values
    return {
        "p50_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(qs[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(values) * 1000, 3),
    }


async def _mine_timed(chain: ArbChain) -> float:
    t0 = time.perf_counter()
    await asyncio.to_thread(chain.anvil.rpc, "anvil_mine", ["0x1"])
    return t0


async def run_ours(chain: ArbChain, trials: int, store_url: str) -> dict[str, Any]:
    os.environ["EDGE_SIGNER_KEY"] = chain.bot_key
    node = EdgeNode(chain.config(store_url), live=True)
    rows: list[dict[str, float]] = []
    durability = ""
    async with running(node):
        await trader_ready(node)
        assert node.desk is not None and node.desk.trader is not None
        trader = node.desk.trader
        durability = trader.durability()
        for i in range(trials):
            seen = len(trader.latencies)
            await asyncio.to_thread(chain.open_gap, 0.03, i % 2 == 0, False)
            t_mine = await _mine_timed(chain)
            await eventually_async(lambda: len(trader.latencies) > seen, 20, "the trade")  # noqa: B023
            lat = trader.latencies[-1]
            rows.append(
                {
                    "block_to_update": lat["t0"] - t_mine,
                    "update_to_signed": lat["signed"],
                    "update_to_journaled": lat["journaled"],
                    "update_to_accepted": lat["accepted"],
                    "block_to_accepted": lat["t0"] + lat["accepted"] - t_mine,
                }
            )
            head = await asyncio.to_thread(chain.mine)
            await caught_up_to(node, head)
            await eventually_async(lambda: not trader.pending, 20, "the trade to settle")
    return {
        "durability": durability,
        "trials": len(rows),
        **{k: _ms([r[k] for r in rows]) for k in rows[0]},
        "update_to_signed_p50_us": round(
            statistics.median(r["update_to_signed"] for r in rows) * 1e6, 1
        ),
    }


async def run_baseline(chain: ArbChain, trials: int) -> dict[str, Any]:
    from eth_abi.abi import encode
    from eth_account import Account
    from eth_utils.abi import function_signature_to_4byte_selector
    from web3 import AsyncWeb3, WebSocketProvider

    setup = chain.setup
    a, b = setup.arb_pairs
    capital = setup.capital_address
    selector = function_signature_to_4byte_selector(
        "execute(address,uint16,address,uint16,address,uint256,uint256)"
    )
    account = Account.from_key(chain.bot_key)
    accepted: list[float] = []
    async with AsyncWeb3(WebSocketProvider(chain.anvil.ws_url)) as w3:
        sync = w3.eth.contract(abi=[SYNC_ABI]).events.Sync()
        reserves: dict[str, tuple[int, int]] = {}
        for pair in (a, b):
            raw = await w3.eth.call({"to": pair.address, "data": "0x0902f1ac"})  # getReserves()
            reserves[pair.address] = (int.from_bytes(raw[:32]), int.from_bytes(raw[32:64]))
        nonce = await w3.eth.get_transaction_count(account.address)
        gas_price = int(await w3.eth.gas_price * 1.1)
        await w3.eth.subscribe("logs", {"address": [a.address, b.address], "topics": [abi.V2_SYNC]})

        def capital_side(pair: Any) -> tuple[int, int]:
            r0, r1 = reserves[pair.address]
            return (r0, r1) if pair.token0 == capital else (r1, r0)

        async def bot() -> None:
            nonlocal nonce
            async for message in w3.socket.process_subscriptions():
                ev = sync.process_log(message["result"])
                reserves[ev["address"]] = (ev["args"]["reserve0"], ev["args"]["reserve1"])
                (a_cap, a_mid), (b_cap, b_mid) = capital_side(a), capital_side(b)
                gas_cost = 200_000 * gas_price
                best = plain_best(
                    [(a, b, a_cap, a_mid, b_mid, b_cap), (b, a, b_cap, b_mid, a_mid, a_cap)],
                    gas_cost,
                    20 * 10**18,
                    2 * 10**14,
                )
                if best is None:
                    continue
                buy, sell, x = best
                data = selector + encode(
                    ["address", "uint16", "address", "uint16", "address", "uint256", "uint256"],
                    [buy.address, buy.fee_bps, sell.address, sell.fee_bps, capital, x, gas_cost],
                )
                tx = {
                    "nonce": nonce,
                    "gasPrice": gas_price,
                    "gas": 200_000,
                    "to": setup.executor,
                    "value": 0,
                    "data": data,
                    "chainId": chain.anvil.chain_id,
                }
                signed = account.sign_transaction(tx)
                await w3.eth.send_raw_transaction(signed.raw_transaction)
                accepted.append(time.perf_counter())
                nonce += 1

        task = asyncio.create_task(bot())
        times = []
        try:
            for i in range(trials):
                seen = len(accepted)
                await asyncio.to_thread(chain.open_gap, 0.03, i % 2 == 0, False)
                t_mine = await _mine_timed(chain)
                await eventually_async(lambda: len(accepted) > seen or task.done(), 20, "the trade")  # noqa: B023
                if task.done():
                    task.result()
                times.append(accepted[-1] - t_mine)
                await asyncio.to_thread(chain.mine)
                await asyncio.sleep(0.2)
        finally:
            task.cancel()
    return {"trials": len(times), "block_to_accepted": _ms(times)}


async def main_async(trials: int, store_url: str | None) -> dict[str, Any]:
    chain = start_arb_chain()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = store_url or f"sqlite:///{tmp}/edge.db"
            ours = await run_ours(chain, trials, url)
        baseline = await run_baseline(chain, trials)
    finally:
        chain.anvil.stop()
    return {
        "benchmark": "end to end on anvil: block with the triggering swap to our tx at the node",
        "store": "sqlite" if store_url is None else store_url.split(":")[0],
        "ours": ours,
        "baseline_web3": baseline,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--store-url", default=None, help="default: SQLite in a temporary directory")
    args = ap.parse_args(argv)
    print(json.dumps(asyncio.run(main_async(args.trials, args.store_url)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
