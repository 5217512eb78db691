"""Swap traffic: every swap lands, runs are reproducible, and failures are never silent."""

from __future__ import annotations

import random
from typing import Any

import pytest

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import DeployedMarket, Trader, deploy_market, prepare_traders
from edge_node.devchain.traffic import SwapSizing, TrafficError, TrafficGenerator
from tests.edge_node.devchain.events import SWAP_TOPIC
from tests.support.waiting import eventually


def _swap_logs(chain: Anvil, market: DeployedMarket, after_block: int) -> list[dict[str, Any]]:
    logs: list[dict[str, Any]] = chain.rpc(
        "eth_getLogs",
        [
            {
                "fromBlock": hex(after_block + 1),
                "toBlock": "latest",
                "address": [p.address for p in market.pairs],
                "topics": [SWAP_TOPIC],
            }
        ],
    )
    return logs


def _run(
    chain: Anvil, market: DeployedMarket, traders: list[Trader], **kwargs: Any
) -> TrafficGenerator:
    gen = TrafficGenerator(chain.http_url, market, traders, **kwargs)
    gen.start()
    assert gen.wait(timeout=30), "the generator did not finish its swaps"
    gen.stop()
    return gen


def test_sizing_stays_within_its_bands() -> None:
    sizing = SwapSizing()
    rng = random.Random(3)
    draws = [sizing.draw(rng) for _ in range(5000)]
    assert all(sizing.min_fraction <= d <= sizing.large_max_fraction for d in draws)
    large = sum(d > sizing.max_fraction for d in draws)
    assert 0 < large < len(draws) * 0.1
    with pytest.raises(ValueError, match="fraction"):
        SwapSizing(min_fraction=0.1, max_fraction=0.01)


@pytest.mark.chain
def test_every_generated_swap_is_on_chain(
    clean_chain: Anvil, market: DeployedMarket, traders: list[Trader]
) -> None:
    start = clean_chain.block_number()
    gen = _run(clean_chain, market, traders, rate=50, seed=7, max_swaps=40)

    assert (gen.sent, gen.succeeded, gen.failed) == (40, 40, 0)
    assert list(gen.last_errors) == []
    logs = _swap_logs(clean_chain, market, start)
    assert len(logs) == 40
    router_topic = "0x" + "00" * 12 + market.router[2:].lower()
    assert all(log["topics"][1] == router_topic for log in logs)
    assert len({log["address"] for log in logs}) > 1  # more than one pair traded
    assert len({log["topics"][2] for log in logs}) > 1  # more than one trader


@pytest.mark.chain
def test_same_seed_gives_the_same_swaps(
    clean_chain: Anvil, market: DeployedMarket, traders: list[Trader]
) -> None:
    def one_run() -> list[tuple[str, str, str]]:
        snapshot = clean_chain.snapshot()
        start = clean_chain.block_number()
        _run(clean_chain, market, traders, rate=100, seed=11, max_swaps=15)
        logs = _swap_logs(clean_chain, market, start)
        assert clean_chain.revert(snapshot)
        return [(log["address"], log["topics"][2], log["data"]) for log in logs]

    first = one_run()
    assert len(first) == 15
    assert one_run() == first


@pytest.mark.chain
def test_reverted_swaps_are_counted_not_fatal(clean_chain: Anvil, market: DeployedMarket) -> None:
    # Account 9 holds no tokens and approved nothing, so every swap reverts on chain.
    broke = clean_chain.accounts[9]
    trader = Trader(broke.index, broke.address, broke.private_key)
    gen = _run(clean_chain, market, [trader], rate=50, seed=1, max_swaps=5)
    assert (gen.sent, gen.succeeded, gen.failed) == (5, 0, 5)
    assert all("reverted" in e for e in gen.last_errors)


@pytest.mark.chain
def test_dead_node_surfaces_from_stop() -> None:
    with Anvil(accounts=3) as chain:
        market = deploy_market(chain)
        traders = prepare_traders(chain, market, [1, 2])
        gen = TrafficGenerator(chain.http_url, market, traders, rate=50, seed=2)
        gen.start()
        eventually(lambda: gen.sent > 0, what="the generator to be sending")
        chain.kill()
        assert gen.wait(timeout=15), "the generator kept running against a dead node"
        assert gen.error is not None
        with pytest.raises(TrafficError, match="stopped after"):
            gen.stop()


@pytest.mark.chain
def test_interval_mining_keeps_the_backlog_bounded() -> None:
    with Anvil(accounts=3) as chain:
        market = deploy_market(chain)
        traders = prepare_traders(chain, market, [1, 2])
        chain.set_interval_mining(1)  # after the set-up, which is quicker under automine
        start = chain.block_number()
        gen = TrafficGenerator(
            chain.http_url, market, traders, rate=40, seed=5, max_pending=8
        ).start()
        peak = 0

        def sent_enough() -> bool:
            nonlocal peak
            peak = max(peak, gen.pending)
            return gen.sent >= 24  # a full backlog three times over

        eventually(sent_enough, what="24 swaps", every=0.01)
        gen.stop()
        mined = chain.block_number() - start
        assert 0 < peak <= 8
        # Throttled by the backlog bound, not by the rate: a swap is sent only once one of the
        # 8 pending is mined, so at most 8 per block mined (plus the first 8). Nothing lost.
        assert gen.sent <= 8 * (mined + 1), (gen.sent, mined)
        assert gen.succeeded == gen.sent
        assert gen.failed == 0
