"""The transaction pipeline's outcomes on a real local chain: a dropped transaction sent again,
a slow one sped up (never above the gas price limit), a nonce taken by another transaction, a
broadcast every endpoint refuses, and EIP-1559 transactions.

anvil mines only when a test says so, so a transaction the node sends stays pending until then.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import select

from edge_node.execution.trader import Trader
from edge_node.service import EdgeNode
from shared.db import schema
from tests.support.trading import (
    ArbChain,
    a_trade_pending,
    assert_journal_agrees_with_chain,
    caught_up_to,
    journal_rows,
    prometheus_text,
    running_arb_chain,
    trade_once,
    trade_rows,
    trader_done_with,
    trading,
)
from tests.support.waiting import WITHIN_S, eventually_async

pytestmark = [pytest.mark.chain, pytest.mark.slow]


chain = pytest.fixture(running_arb_chain, name="chain")


@pytest.fixture
def signer_env(chain: ArbChain, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGE_SIGNER_KEY", chain.bot_key)


async def _mine_until_settled(chain: ArbChain, node: EdgeNode, trader: Trader, blocks: int) -> None:
    """Mines block after block (at most ``blocks``) until the trader has nothing pending.

    After each block the trader is done with it (the positive sentinel: whatever the block made
    it do is done) and has read the gas price again, as the desk does every few seconds: the
    outcome depends on the blocks, not on how fast the machine mines them."""
    for _ in range(blocks):
        head = await asyncio.to_thread(chain.mine)
        await trader_done_with(node, trader, head)
        if not trader.pending:
            return
        assert await trader.refresh(), "the trader could not read the gas price"


async def _live_node(chain: ArbChain, url: str, **trading: dict[str, Any]) -> EdgeNode:
    return EdgeNode(chain.config(url, trading or None), live=True)


async def test_a_dropped_transaction_is_rebroadcast_with_the_same_bytes(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(chain, sqlite_url)
    async with trading(node) as trader:
        await asyncio.to_thread(chain.open_gap)
        tx = await a_trade_pending(chain, node)
        assert await asyncio.to_thread(chain.anvil.rpc, "anvil_dropTransaction", [tx])
        assert await asyncio.to_thread(chain.bot_pool) == []  # the node forgot it
        head = await asyncio.to_thread(chain.mine)  # a block without it: the trader notices
        await eventually_async(
            lambda: trader.counters.rebroadcasts == 1, WITHIN_S, "the rebroadcast"
        )
        pool = await asyncio.to_thread(chain.bot_pool)
        assert [t["hash"] for t in pool] == [tx]  # the very same transaction
        await asyncio.to_thread(chain.mine)
        await eventually_async(lambda: not trader.pending, WITHIN_S, "the trade to settle")
        assert head
    counts = await asyncio.to_thread(assert_journal_agrees_with_chain, chain, node.engine)
    assert counts == {"mined": 1}
    with node.engine.connect() as conn:
        broadcasts = conn.execute(select(schema.tx_journal.c.broadcasts)).scalar_one()
    assert broadcasts == 2


async def test_a_transaction_not_mined_in_time_is_sped_up(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(chain, sqlite_url, execution={"replace_after_blocks": 2})
    async with trading(node) as trader:
        await asyncio.to_thread(chain.open_gap)
        tx = await a_trade_pending(chain, node)
        # A gas price spike: the base fee jumps far above the trade's price, which then
        # waits in the pool while blocks go by.
        await asyncio.to_thread(
            chain.anvil.rpc, "anvil_setNextBlockBaseFeePerGas", [hex(20 * 10**9)]
        )
        await _mine_until_settled(chain, node, trader, blocks=15)
        assert not trader.pending, "the trade was never mined"
        assert trader.counters.speedups >= 1
    counts = await asyncio.to_thread(assert_journal_agrees_with_chain, chain, node.engine)
    assert counts["mined"] == 1 and counts["replaced"] == trader.counters.speedups
    rows = trade_rows(node.engine)
    assert [r.status for r in rows] == ["mined"]
    assert rows[0].tx_hash != tx  # the trade settled through a speed-up
    receipt = await asyncio.to_thread(
        chain.anvil.rpc, "eth_getTransactionReceipt", [rows[0].tx_hash]
    )
    assert int(receipt["effectiveGasPrice"], 16) > 10**9  # priced for the spike


async def test_a_nonce_used_by_another_transaction_is_a_conflict_and_nonces_resync(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(chain, sqlite_url)
    async with trading(node) as trader:
        await asyncio.to_thread(chain.open_gap)
        tx = await a_trade_pending(chain, node)
        nonce = await asyncio.to_thread(chain.bot_nonce)
        # Someone else with the bot's key (anvil's dev accounts are unlocked) takes the nonce.
        other = await asyncio.to_thread(
            chain.anvil.rpc,
            "eth_sendTransaction",
            [
                {
                    "from": chain.bot,
                    "to": chain.traders[0].address,
                    "value": hex(1),
                    "nonce": hex(nonce),
                    "gasPrice": hex(100 * 10**9),
                }
            ],
        )
        head = await asyncio.to_thread(chain.mine)
        await caught_up_to(node, head)
        # A conflict is decided on consistent evidence: the same seen again on a later block.
        await eventually_async(
            lambda: trader.pending[nonce].suspect is not None, WITHIN_S, "a first look"
        )
        await asyncio.to_thread(chain.mine)
        await eventually_async(
            lambda: trader.counters.failures.get("nonce_conflict") == 1, WITHIN_S, "it"
        )
        assert await asyncio.to_thread(chain.anvil.rpc, "eth_getTransactionReceipt", [tx]) is None
        assert await asyncio.to_thread(chain.anvil.rpc, "eth_getTransactionReceipt", [other])
        assert trader.nonces.next_nonce == nonce + 1  # resynced from the chain
        await trade_once(chain, node)  # and trading goes on with the next nonce
        await eventually_async(lambda: not trader.pending, WITHIN_S, "the next trade to settle")
    rows = trade_rows(node.engine)
    assert [(r.status, r.nonce) for r in rows] == [("failed", nonce), ("mined", nonce + 1)]
    assert json.loads(rows[0].detail)["error"] == "nonce_conflict"


async def test_a_refused_broadcast_is_classified(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(chain, sqlite_url)
    async with trading(node) as trader:
        # The next block's base fee far above what the trader prices with: every endpoint
        # refuses the transaction as underpriced.
        await asyncio.to_thread(
            chain.anvil.rpc, "anvil_setNextBlockBaseFeePerGas", [hex(500 * 10**9)]
        )
        await asyncio.to_thread(chain.open_gap)
        await eventually_async(
            lambda: trader.counters.failures.get("underpriced", 0) >= 1, WITHIN_S, "the refusal"
        )
        prom = await prometheus_text(node)
        assert 'trade_failures_total{class="underpriced"}' in prom
        assert await asyncio.to_thread(chain.bot_pool) == []
        # The spike passes: the trade is priced again after a few blocks and goes through.
        await asyncio.to_thread(chain.anvil.rpc, "anvil_setNextBlockBaseFeePerGas", [hex(10**9)])
        await _mine_until_settled(chain, node, trader, blocks=15)
        assert not trader.pending
    counts = await asyncio.to_thread(assert_journal_agrees_with_chain, chain, node.engine)
    assert counts["mined"] == 1


async def test_a_speed_up_never_breaks_the_gas_price_limit(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(
        chain,
        sqlite_url,
        execution={"replace_after_blocks": 1},
        risk={"max_gas_price_gwei": 1.3},  # the trade goes at ~1.17 gwei; a bump would pass it
    )
    async with trading(node) as trader:
        await asyncio.to_thread(chain.open_gap)
        tx = await a_trade_pending(chain, node)
        await asyncio.to_thread(
            chain.anvil.rpc, "anvil_setNextBlockBaseFeePerGas", [hex(20 * 10**9)]
        )
        for _ in range(4):
            head = await asyncio.to_thread(chain.mine)
            await trader_done_with(node, trader, head)  # any speed-up for it is decided
        assert trader.counters.speedups == 0
        # The spike passes; the trade goes through at its own price (anvil evicts it while
        # the base fee is above it; the trader sends the same bytes again).
        await asyncio.to_thread(chain.anvil.rpc, "anvil_setNextBlockBaseFeePerGas", [hex(10**8)])
        await _mine_until_settled(chain, node, trader, blocks=6)
        assert not trader.pending
        assert trader.counters.speedups == 0
    rows = trade_rows(node.engine)
    assert [(r.status, r.tx_hash) for r in rows] == [("mined", tx)]
    assert [r.gas_price for r in journal_rows(node.engine)] == [rows[0].gas_price]


async def test_eip1559_transactions_for_ethereum(
    chain: ArbChain, sqlite_url: str, signer_env: None
) -> None:
    node = await _live_node(chain, sqlite_url, execution={"tx_type": "eip1559"})
    async with trading(node) as trader:
        tx = await trade_once(chain, node)
        await eventually_async(lambda: not trader.pending, WITHIN_S, "the trade to settle")
    mined = await asyncio.to_thread(chain.anvil.rpc, "eth_getTransactionByHash", [tx])
    assert mined["type"] == "0x2"
    assert int(mined["maxPriorityFeePerGas"], 16) <= int(mined["maxFeePerGas"], 16)
    assert [r.status for r in trade_rows(node.engine)] == ["mined"]
