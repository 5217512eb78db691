"""A live trade through a reorganisation on a real chain (point 3 of issue 7): mined, settled
after its confirmations, its block reorganised away; the node puts it back to pending, sends the
same signed bytes again, settles it in the new chain, and ends with journal = chain."""

from __future__ import annotations

import asyncio

import pytest

from edge_node.service import EdgeNode
from tests.support.trading import (
    ArbChain,
    a_trade_pending,
    assert_journal_agrees_with_chain,
    caught_up_to,
    running_arb_chain,
    trade_rows,
    trader_done_with,
    trading,
)
from tests.support.waiting import WITHIN_S, eventually_async

pytestmark = [pytest.mark.chain, pytest.mark.slow]


chain = pytest.fixture(running_arb_chain, name="chain")


async def test_a_trade_whose_block_is_reorganised_away_ends_as_the_chain_says(
    chain: ArbChain, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIGNER_KEY", chain.bot_key)
    node = EdgeNode(chain.config(sqlite_url, {"execution": {"confirmations": 2}}), live=True)
    async with trading(node) as trader:
        await asyncio.to_thread(chain.open_gap)
        tx = await a_trade_pending(chain, node)
        mined_in = await asyncio.to_thread(chain.mine)
        await trader_done_with(node, trader, mined_in)  # it has looked at the receipt...
        assert [r.status for r in trade_rows(node.engine)] == ["submitted"]  # ...1 confirmation
        head = await asyncio.to_thread(chain.mine)
        await caught_up_to(node, head)
        await eventually_async(lambda: not trader.pending, WITHIN_S, "the trade to settle")
        first = trade_rows(node.engine)[0]
        assert (first.status, first.block_number) == ("mined", mined_in)
        assert trader.risk.daily_pnl == int(first.profit) - int(first.gas_cost)

        # The two blocks since the gap are replaced by empty ones: the trade is off the chain.
        await asyncio.to_thread(chain.anvil.reorg, 2, [])
        await eventually_async(lambda: node.metrics.reorgs >= 1, WITHIN_S, "the reorg to be seen")
        await eventually_async(
            lambda: bool(trader.pending), WITHIN_S, "the trade to be pending again"
        )
        assert trader.counters.by_status.get(("live", "reorged")) == 1
        assert trade_rows(node.engine)[0].status == "submitted"
        # The tally is read back from the journal after the trade is pending again (and before
        # it is re-sent): waited for.
        await eventually_async(
            lambda: trader.risk.daily_pnl == 0, WITHIN_S, "the risk tally to follow"
        )
        receipt = await asyncio.to_thread(chain.anvil.rpc, "eth_getTransactionReceipt", [tx])
        assert receipt is None
        # The same bytes were sent again: the next blocks mine the very same transaction.
        pool = await eventually_async(
            chain.bot_pool, WITHIN_S, "the trade back in anvil's pool", in_thread=True
        )
        assert [t["hash"] for t in pool] == [tx]
        for _ in range(3):
            head = await asyncio.to_thread(chain.mine)
            await caught_up_to(node, head)
        await eventually_async(lambda: not trader.pending, WITHIN_S, "the trade to settle again")
        receipt = await asyncio.to_thread(chain.anvil.rpc, "eth_getTransactionReceipt", [tx])
        assert receipt is not None and int(receipt["status"], 16) == 1
    rows = trade_rows(node.engine)
    assert [(r.status, r.tx_hash, r.block_number) for r in rows] == [
        ("mined", tx, int(receipt["blockNumber"], 16))
    ]
    counts = await asyncio.to_thread(assert_journal_agrees_with_chain, chain, node.engine)
    assert counts == {"mined": 1}
