"""Confirmations, reorganisations and endpoints that disagree (points 2, 3 and 4 of issue 7),
against a scripted chain. (On anvil: tests/edge_node/test_trading_reorg.py.)"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from edge_node.chain.events import SyncEvent
from edge_node.execution.journal import Journal
from tests.support.fake_trading import ScriptedRpc, intent, rig

PROFIT = 5 * 10**15
GAS_COST = 200_000 * 10**9


async def test_a_trade_settles_only_after_its_confirmations(tmp_path: Path) -> None:
    r = rig(tmp_path, confirmations=3)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.rpc.mine(signed.hash_hex, 5)
    for block in (5, 6):
        r.trader.on_block(block)
        await r.idle()
        assert r.trades() == [(0, "submitted")], block  # 1, then 2 confirmations
        assert list(r.trader.pending) == [0] and r.trader.risk.daily_pnl == 0
    assert len(r.broadcaster.sent) == 1  # mined: neither sent again nor sped up
    r.trader.on_block(7)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.risk.daily_pnl == PROFIT - GAS_COST
    await r.trader.close()


async def test_a_reorg_puts_a_settled_trade_back_to_pending_and_sends_it_again(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path, confirmations=2)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.rpc.mine(signed.hash_hex, 5)
    r.trader.on_block(6)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.risk.daily_pnl == PROFIT - GAS_COST
    # Blocks 5 and 6 are reorganised away: the trade is not on chain any more.
    del r.rpc.receipts[signed.hash_hex]
    r.rpc.chain_nonce = 0
    r.trader.on_rollback(4)
    await r.idle()
    assert r.trades() == [(0, "submitted")]
    assert r.journal() == [(0, "trade", "broadcast", None)]
    assert list(r.trader.pending) == [0] and r.trader.in_flight == {"P": 0}
    assert r.trader.risk.daily_pnl == 0  # the tally follows the journal
    assert r.trader.nonces.next_nonce == 1 and r.trader.nonces.holes(0) == []
    assert r.broadcaster.sent == [signed.raw_hex, signed.raw_hex]  # the same bytes again
    # Mined again in the new chain: settled once, counted once.
    r.rpc.mine(signed.hash_hex, 6)
    r.trader.on_block(7)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.risk.daily_pnl == PROFIT - GAS_COST
    daily_pnl, _ = Journal(r.engine, 31337, r.trader.owner).risk_state(time.time())
    assert daily_pnl == PROFIT - GAS_COST
    await r.trader.close()


async def test_the_risk_tally_is_restored_before_a_reorged_trade_is_sent_again(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path, confirmations=1)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.rpc.mine(signed.hash_hex, 5)
    r.trader.on_block(5)
    await r.idle()
    assert r.trader.risk.daily_pnl == PROFIT - GAS_COST
    tally_when_sent: list[int] = []
    send = r.broadcaster.send

    async def spy(raw_hex: str) -> Any:
        tally_when_sent.append(r.trader.risk.daily_pnl)
        return await send(raw_hex)

    r.broadcaster.send = spy  # type: ignore[method-assign]
    del r.rpc.receipts[signed.hash_hex]
    r.rpc.chain_nonce = 0
    r.trader.on_rollback(4)
    await r.idle()
    # The re-send saw the tally without the removed block's outcome, not the stale one.
    assert tally_when_sent == [0]
    await r.trader.close()


async def test_a_reorg_before_the_confirmations_sends_the_trade_again(tmp_path: Path) -> None:
    r = rig(tmp_path, confirmations=3)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.rpc.mine(signed.hash_hex, 5)
    r.trader.on_block(5)
    await r.idle()
    del r.rpc.receipts[signed.hash_hex]
    r.rpc.chain_nonce = 0
    r.trader.on_rollback(4)
    await r.idle()
    assert r.broadcaster.sent == [signed.raw_hex, signed.raw_hex]
    assert r.trades() == [(0, "submitted")] and list(r.trader.pending) == [0]
    await r.trader.close()


class TwoBackends(ScriptedRpc):
    """One endpoint, two backends: the nonce comes from one that has seen the trade's block,
    the receipts (and lookups by hash) from one that has not yet."""

    def __init__(self) -> None:
        super().__init__()
        self.lagging: set[str] = set()

    async def request(self, method: str, params: Any = (), decoder: Any = None) -> Any:
        lookup = method in ("eth_getTransactionReceipt", "eth_getTransactionByHash")
        if lookup and params[0] in self.lagging:
            return None
        return await super().request(method, params, decoder)


async def test_endpoints_that_disagree_do_not_make_a_mined_trade_a_conflict(
    tmp_path: Path,
) -> None:
    rpc = TwoBackends()
    r = rig(tmp_path, rpc=rpc)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    rpc.mine(signed.hash_hex, 5)
    rpc.lagging.add(signed.hash_hex)  # nonce says used; the receipts' backend is behind
    r.trader.on_block(5)
    await r.idle()
    assert r.trades() == [(0, "submitted")]  # not failed on one inconsistent look
    assert r.trader.counters.failures.get("nonce_conflict") is None
    rpc.lagging.clear()  # the lagging backend catches up
    rpc.height = 6
    r.trader.on_block(6)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.counters.failures.get("nonce_conflict") is None
    await r.trader.close()


async def test_a_conflict_seen_again_on_a_later_block_is_decided(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.rpc.chain_nonce, r.rpc.height = 1, 5  # something else used nonce 0
    r.trader.on_block(5)
    await r.idle()
    assert r.trades() == [(0, "submitted")]  # one look: not yet
    r.trader.on_block(5)  # the same height again proves nothing new
    await r.idle()
    assert r.trades() == [(0, "submitted")]
    r.rpc.height = 6
    r.trader.on_block(6)
    await r.idle()
    assert r.trades() == [(0, "failed")]
    assert r.trader.counters.failures.get("nonce_conflict") == 1
    await r.trader.close()


class _Pool:
    def __init__(self, block: int) -> None:
        self.state = type("S", (), {"reserve0": 1, "reserve1": 1, "block": block, "log_index": 0})


async def test_a_rollback_clears_the_overlay_and_the_evaluation_marks(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    pool = "0x" + "a1" * 20
    book: Any = r.trader.book
    book.pools = {pool: _Pool(8)}
    overlay = r.trader.overlay
    seen: list[tuple[int, int, int]] = []

    def on_update(p: str, reserves: Any, gas_price: int, capital: int) -> list[Any]:
        seen.append(reserves(p)[:3])
        return []

    r.trader.strategy.on_update = on_update  # type: ignore[method-assign,assignment]
    orphan = SyncEvent(pool, 10, "0x" + "00" * 32, 0, "0x" + "00" * 32, False, 500, 7)
    overlay.pools[pool] = (orphan, None)  # reserves of block 10, soon orphaned
    r.trader._evaluate(pool, (10, 0), 0.0)
    assert seen == [(500, 7, 10)]
    r.trader.on_rollback(8)
    assert overlay.pools == {}  # no trade sized on the orphaned block's reserves
    # The canonical block 9 is evaluated, though the chain has not passed 10 again.
    book.pools[pool] = _Pool(9)
    r.trader.on_commit(9, [pool])
    assert seen[-1] == (1, 1, 9)
    await r.idle()
    await r.trader.close()


async def test_two_endpoints_at_different_heights_never_make_a_conflict(tmp_path: Path) -> None:
    ahead, behind = TwoBackends(), ScriptedRpc()
    r = rig(tmp_path, rpc=ahead)
    active: list[ScriptedRpc] = [ahead]
    r.trader.rpc = lambda: active[0]
    await r.trader.reconcile(ahead)
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    ahead.mine(signed.hash_hex, 6)  # mined on the chain the first endpoint follows...
    ahead.lagging.add(signed.hash_hex)  # ...whose receipts backend has not caught up
    behind.height = 5  # the second endpoint has not seen block 6 at all
    for rpc, block in ((ahead, 6), (behind, 6), (ahead, 6)):  # a failover and back
        active[0] = rpc
        r.trader.on_block(block)
        await r.idle()
        assert r.trades() == [(0, "submitted")]
    ahead.lagging.clear()
    r.trader.on_block(7)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.counters.failures.get("nonce_conflict") is None
    await r.trader.close()
