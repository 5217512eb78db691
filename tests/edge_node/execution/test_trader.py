"""The trader against a scripted chain and broadcaster: refusals, races and replacements that a
real node produces only by chance. (On a real chain: tests/edge_node/test_trading.py and
test_trading_pipeline.py.)"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from pathlib import Path

import pytest

from edge_node.control import TradingState
from edge_node.execution.broadcast import BroadcastResult
from edge_node.execution.trader import CANCEL_PRICE_LIMIT_FACTOR
from tests.support.fake_trading import intent, rig
from tests.support.waiting import WITHIN_S, eventually_async


async def test_a_refusal_that_passes_leaves_no_hole(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    r.broadcaster.refuse = "-32005: daily request count exceeded, request rate limited"
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    assert list(r.trader.pending) == [0]  # not failed: still the trade of nonce 0
    assert r.journal() == [(0, "trade", "broadcast", "rejected")]
    r.broadcaster.refuse = None  # the provider answers again
    r.trader.on_block(2)  # the tracker: unknown to the node, so the same bytes again
    await r.idle()
    assert r.broadcaster.sent[-1] == signed.raw_hex
    r.rpc.mine(signed.hash_hex, 3)
    r.trader.on_block(3)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    assert r.trader.nonces.next_nonce == 1
    await r.trader.close()


async def test_a_resync_while_a_trade_is_signed_reuses_no_nonce(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    r.trader.consider(intent("P"), time.time())
    await r.idle()
    r.rpc.delay = 0.05  # the resync's chain read takes a while...
    resync = asyncio.create_task(r.trader.resync())
    await asyncio.sleep(0.01)
    second = r.trader.consider(intent("Q"), time.time())  # ...and a trade is signed meanwhile
    await resync
    r.rpc.delay = 0.0
    await r.idle()
    assert second is not None and second.nonce == 1
    third = r.trader.consider(intent("P")._replace(pair="R"), time.time())
    assert third is not None and third.nonce == 2
    await r.trader.close()


async def test_eip1559_replacements_raise_the_tip_too(tmp_path: Path) -> None:
    r = rig(tmp_path, tx_type="eip1559", replace_after_blocks=1, priority_fee_gwei=1.0)
    await r.trader.reconcile(r.rpc)
    r.trader.consider(intent("P", gas_price=20 * 10**9), time.time())
    await r.idle()
    for block in (3, 5):  # not mined: a speed-up each time
        r.rpc.known = {tx.tx_hash for p in r.trader.pending.values() for tx in p.txs}
        r.trader.on_block(block)
        await r.idle()
    txs = list(r.trader.pending[0].txs)
    assert [tx.kind for tx in txs] == ["trade", "speedup", "speedup"]
    for before, after in itertools.pairwise(txs):
        assert before.priority_fee is not None and after.priority_fee is not None
        assert after.priority_fee >= before.priority_fee * 1.1  # geth wants both raised
        assert after.gas_price >= before.gas_price * 1.1
    r.trader.control_service.control.emergency_stop("test", "stop")
    await r.idle()
    cancel = r.trader.pending[0].txs[-1]
    assert cancel.kind == "cancel" and cancel.priority_fee is not None
    assert cancel.priority_fee >= txs[-1].priority_fee * 1.1  # type: ignore[operator]
    await r.trader.close()


async def test_a_stop_racing_the_tracker_cancels_only_what_is_still_pending(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    a = r.trader.consider(intent("P"), time.time())
    b = r.trader.consider(intent("Q"), time.time())
    assert a is not None and b is not None
    await r.idle()
    r.rpc.mine(a.hash_hex, 5)
    r.rpc.mine(b.hash_hex, 5)
    r.rpc.delay = 0.05  # the tracker's reads take a while
    r.trader.on_block(5)  # the tracker is reading the receipts...
    await asyncio.sleep(0.01)
    r.trader.control_service.control.emergency_stop("api", "test")  # ...when the stop lands
    await r.idle()
    r.rpc.delay = 0.0
    assert r.trades() == [(0, "mined"), (1, "mined")]
    assert all(kind == "trade" for _, kind, _, _ in r.journal())  # no cancel for settled ones
    report = r.trader.last_stop_report
    assert report is not None and report["cancelled_nonces"] == []
    await r.trader.close()


async def test_cancels_are_sped_up_but_not_without_end(tmp_path: Path) -> None:
    limit = 2 * 10**9
    r = rig(tmp_path, replace_after_blocks=1, max_gas_price=limit)
    await r.trader.reconcile(r.rpc)
    r.trader.consider(intent("P", gas_price=10**9), time.time())
    await r.idle()
    r.trader.control_service.control.emergency_stop("test", "stop")
    await r.idle()
    for block in range(3, 60, 2):
        r.rpc.known = {tx.tx_hash for p in r.trader.pending.values() for tx in p.txs}
        r.trader.on_block(block)
        await r.idle()
    prices = [tx.gas_price for tx in r.trader.pending[0].txs if tx.kind == "cancel"]
    assert len(prices) > 3 and prices == sorted(prices)
    assert max(prices) <= CANCEL_PRICE_LIMIT_FACTOR * limit
    await r.trader.close()


async def test_a_trader_whose_reconcile_failed_never_acts_on_a_stop(tmp_path: Path) -> None:
    r = rig(tmp_path)
    r.rpc.delay = 0.0

    async def broken(*_: object) -> None:
        raise ConnectionError("database gone")

    r.trader._db = broken  # type: ignore[method-assign,assignment]
    with pytest.raises(ConnectionError):
        await r.trader.reconcile(r.rpc)
    assert r.trader._on_transition not in r.trader.control_service.control.listeners
    await r.trader.discard()


async def test_a_risk_pause_is_persisted(tmp_path: Path) -> None:
    from shared import control_flags

    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    r.trader.risk.consecutive_failures = 1000  # the limit in the rig is 1000
    assert r.trader.consider(intent("P"), time.time()) is None
    assert r.trader.control_service.control.state is TradingState.PAUSED
    await eventually_async(  # a restart stays paused
        lambda: control_flags.read_db_flags(r.engine).paused,
        what="the pause to be persisted",
        in_thread=True,
    )
    await r.trader.close()


async def test_drain_waits_for_a_trade_still_being_journaled(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    reached, release = asyncio.Event(), asyncio.Event()
    send = r.broadcaster.send

    async def held_send(raw_hex: str) -> BroadcastResult:  # signed, journaled, then held
        reached.set()
        await release.wait()
        return await send(raw_hex)

    r.broadcaster.send = held_send  # type: ignore[method-assign]
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    drain = asyncio.create_task(r.trader.drain(WITHIN_S))
    await asyncio.wait_for(reached.wait(), WITHIN_S)
    for _ in range(5):  # the drain runs meanwhile...
        await asyncio.sleep(0.01)
    assert not drain.done()  # ...and is not "nothing pending" while the trade is on its way
    release.set()
    await r.idle()  # the broadcast is done
    r.rpc.mine(signed.hash_hex, 4)
    r.trader.on_block(4)
    assert await drain is True
    assert r.trades() == [(0, "mined")]
    await r.trader.close()


async def test_close_waits_for_the_journal_thread_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    started, release = threading.Event(), threading.Event()

    def commit() -> None:  # a commit that takes until the test releases it
        started.set()
        release.wait(WITHIN_S)

    slow = asyncio.ensure_future(r.trader._db(commit))
    assert await asyncio.to_thread(started.wait, WITHIN_S)
    closing = asyncio.create_task(r.trader.close())
    for _ in range(5):  # the loop runs while close waits (a blocked loop never gets here...)
        await asyncio.sleep(0.01)
    assert not closing.done()  # ...before the commit is released)
    release.set()
    await asyncio.wait_for(closing, WITHIN_S)
    await slow
