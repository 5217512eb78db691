"""Running the edge node against a local chain in tests, and checking it against the chain."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector
from sqlalchemy import Engine, select

from edge_node.demo import node_config_for
from edge_node.demo_report import chain_swap_keys
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import DeployedMarket, Trader, deploy_market, prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator
from edge_node.service import EdgeNode
from edge_node.store import reader
from shared.config import CANDLE_INTERVALS, NodeConfig
from shared.db import schema
from tests.support.waiting import WITHIN_S, NotWithin, eventually_async

TOKEN = "test-token-0123456789abcdef"
_SWAP_EXACT_IN = function_signature_to_4byte_selector(
    "swapExactIn(address,address,uint256,uint256,address)"
)
GENTLE = SwapSizing(min_fraction=1e-5, max_fraction=2e-3, large_probability=0.0)


@dataclass
class Chain:
    anvil: Anvil
    market: DeployedMarket
    traders: list[Trader]

    def traffic(self, rate: float = 40.0, seed: int = 1, **kw: Any) -> TrafficGenerator:
        return TrafficGenerator(
            self.anvil.http_url,
            self.market,
            self.traders,
            rate=rate,
            seed=seed,
            sizing=GENTLE,
            **kw,
        )

    def swap_tx(self, i: int) -> dict[str, object]:
        """A router swap as a transaction request from an unlocked dev account (for
        anvil_reorg, which mines given transactions into the replacement blocks)."""
        pair = self.market.pairs[i % len(self.market.pairs)]
        trader = self.traders[i % len(self.traders)]
        data = _SWAP_EXACT_IN + encode(
            ["address", "address", "uint256", "uint256", "address"],
            [pair.address, pair.token0, 10 ** max(0, pair.decimals0 - 3), 0, trader.address],
        )
        return {
            "from": trader.address,
            "to": self.market.router,
            "data": "0x" + data.hex(),
            "gas": hex(300_000),
        }

    def config(self, store_url: str, **kw: Any) -> NodeConfig:
        chain = {
            "liveness_timeout_s": 3.0,
            "probe_interval_s": 0.5,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.5,
            "request_timeout_s": 3.0,
            **kw.pop("chain", {}),
        }
        return node_config_for(self.anvil, self.market, store_url, TOKEN, api_port=0, **kw, **chain)


def start_chain(block_time: float | None = 0.5) -> Chain:
    anvil = Anvil(block_time=block_time).start()
    market = deploy_market(anvil)
    traders = prepare_traders(anvil, market, [1, 2, 3, 4])
    return Chain(anvil, market, traders)


def running_chain() -> Iterator[Chain]:
    """A fresh anvil with the demo market, mining every 0.5 s, stopped after it; a module
    makes it its ``chain`` fixture with ``chain = pytest.fixture(running_chain, name="chain")``
    (``scope="module"`` to share one)."""
    c = start_chain(block_time=0.5)
    try:
        yield c
    finally:
        c.anvil.stop()


@contextlib.asynccontextmanager
async def running(node: EdgeNode, start_within: float = 2 * WITHIN_S) -> AsyncIterator[EdgeNode]:
    """The node started (its ``ready``), stopped afterwards; a start that fails or does not
    end in time fails the test here, not later in whatever the test expected of the node."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(node.run(stop, ready))
    waiter = asyncio.ensure_future(ready.wait())
    await asyncio.wait([waiter, task], timeout=start_within, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()
    if not ready.is_set():
        stop.set()
        await asyncio.wait({task}, timeout=start_within)
        raise NotWithin(f"the node did not start within {start_within:g}s")
    try:
        yield node
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def blocks_go_by(node: EdgeNode, n: int = 2, within: float = WITHIN_S) -> None:
    """Waits until the node has processed ``n`` more blocks: what "a while, mid-stream" means
    in a test (a fixed sleep says nothing on a loaded machine)."""
    start = node.book.head.number if node.book.head is not None else -1
    await eventually_async(
        lambda: node.book.head is not None and node.book.head.number >= start + n,
        within,
        f"the node to process {n} more blocks after {start}",
    )


async def caught_up(node: EdgeNode, anvil: Anvil, within: float = 30.0) -> int:
    """Wait until the node has processed and stored the chain's current head."""
    head = await asyncio.to_thread(anvil.block_number)

    def done() -> bool:
        h = node.book.head
        committed = node.writer.stats.committed_block
        return (
            h is not None
            and h.number >= head
            and committed is not None
            and committed >= head
            and node.writer.queue_depth() == 0
        )

    await eventually_async(done, within, f"the node to process and store block {head}")
    return head


def assert_store_matches_chain(engine: Engine, chain: Chain, chain_id: int) -> int:
    """The set of swaps stored equals the set of Swap logs the chain holds; returns the count."""
    head = chain.anvil.block_number()
    on_chain = chain_swap_keys(chain.anvil, chain.market, head)
    stored = reader.swap_keys(engine, chain_id)
    missing, extra = on_chain - stored, stored - on_chain
    assert not missing and not extra, f"{len(missing)} missing, {len(extra)} extra swaps"
    assert on_chain, "the test made no swaps"
    return len(on_chain)


def assert_candles_match_swaps(engine: Engine, chain_id: int, intervals: list[str]) -> int:
    """Every stored candle equals the aggregate of the stored swaps of its bucket (no swap
    counted twice or lost, across restarts and rollbacks); returns the number of candles."""
    with engine.connect() as conn:
        swaps = conn.execute(
            select(schema.swaps)
            .where(schema.swaps.c.chain_id == chain_id, schema.swaps.c.price.is_not(None))
            .order_by(schema.swaps.c.block_number, schema.swaps.c.log_index)
        ).all()
        candles = conn.execute(
            select(schema.candles).where(schema.candles.c.chain_id == chain_id)
        ).all()
    expected: dict[tuple[str, str, int], list[float]] = {}
    for s in swaps:
        for name in intervals:
            sec = CANDLE_INTERVALS[name]
            key = (s.pool, name, s.block_time - s.block_time % sec)
            agg = expected.get(key)
            if agg is None:
                expected[key] = [
                    s.price,
                    s.price,
                    s.price,
                    s.price,
                    s.volume_base,
                    s.volume_quote,
                    1,
                ]
            else:
                agg[1] = max(agg[1], s.price)
                agg[2] = min(agg[2], s.price)
                agg[3] = s.price
                agg[4] += s.volume_base
                agg[5] += s.volume_quote
                agg[6] += 1
    got = {
        (c.pool, c.interval, c.open_time): [
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume_base,
            c.volume_quote,
            c.trades,
        ]
        for c in candles
    }
    assert got.keys() == expected.keys(), (
        f"candle buckets differ: only stored {sorted(got.keys() - expected.keys())[:3]}, "
        f"only from swaps {sorted(expected.keys() - got.keys())[:3]}"
    )
    for key, values in expected.items():
        stored = got[key]
        for a, b in zip(stored, values, strict=True):
            assert abs(a - b) <= 1e-9 * max(1.0, abs(b)), f"candle {key}: {stored} != {values}"
    return len(got)
