"""The write side of the accounting (point 6 of issue 7): refusals recorded with a status that
is counted, the gas of cancels counted, paper apart from live, and a cancelled trade neither a
success nor a failure. Figures are checked against a journal built by hand."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import update

from edge_node.execution.journal import Journal
from edge_node.risk import Outcome, RiskGate, RiskLimits
from shared.db import schema
from shared.db.engine import create_engine, migrate
from tests.support.fake_trading import intent, rig
from tests.support.waiting import eventually_async

OWNER = "0x" + "11" * 20
NOON = time.time() // 86_400 * 86_400 + 43_200  # today, UTC: the rows are all of one day


def _trade(journal: Journal, mode: str, status: str, profit: int, gas: int, at: int) -> None:
    trade_id = journal.insert_trade(
        {
            "mode": mode, "strategy": "s", "pool_buy": "0x01", "pool_sell": "0x02",
            "token_in": "0x03", "amount_in": 1, "expected_profit": 1, "min_profit": 1,
            "gas_limit": 1, "gas_price": 1, "status": status, "trigger_block": 1,
            "trigger_log_index": 0, "profit": profit, "gas_cost": gas,
        }
    )  # fmt: skip
    when = datetime.fromtimestamp(NOON - 3600 + at, UTC)
    with journal.engine.begin() as conn:
        conn.execute(
            update(schema.trades).where(schema.trades.c.id == trade_id).values(updated_at=when)
        )


def test_risk_state_counts_cancels_and_fills_and_skips_paper(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/j.db")
    migrate(engine)
    journal = Journal(engine, 56, OWNER)
    _trade(journal, "live", "mined", 10_000, 300, 1)
    _trade(journal, "live", "reverted", 0, 200, 2)
    _trade(journal, "live", "cancelled", 0, 100, 3)  # the newest: its cancel's gas counts
    _trade(journal, "paper", "simulated", 10**6, 50, 4)  # paper: never in the live tally
    _trade(journal, "live", "refused", 0, 0, 5)
    # A self-transfer that filled a nonce hole, no trade: 21,000 gas at 2 wei.
    journal.record(nonce=7, tx_hash="0x" + "aa" * 32, raw_tx="0x00", kind="cancel", gas_price=2)
    journal.settle(
        "0x" + "aa" * 32, "mined", block_number=9, gas_used=21_000, effective_gas_price=2
    )
    net, streak = journal.risk_state(time.time())
    assert net == 10_000 - 300 - 200 - 100 - 42_000
    assert streak == 1  # the cancelled trade neither breaks the streak nor extends it
    journal.close()


def test_a_cancelled_outcome_leaves_the_failure_streak_alone() -> None:
    gate = RiskGate(RiskLimits(10**30, 10**30, 10**12, 0, 5, 60.0))
    now = time.time()
    gate.record(Outcome(success=False, net=-5), now)
    gate.record(Outcome(success=None, net=-3), now)  # a cancel: not a success
    assert gate.consecutive_failures == 1 and gate.daily_pnl == -8
    gate.record(Outcome(success=True, net=10), now)
    assert gate.consecutive_failures == 0


async def test_a_refusal_is_recorded_with_its_mode_and_counted(tmp_path: Path) -> None:
    r = rig(tmp_path, max_gas_price=10**8)  # below the trade's gas price
    await r.trader.reconcile(r.rpc)
    assert r.trader.consider(intent("P"), time.time()) is None
    await eventually_async(r.trades, what="the refusal to be recorded", in_thread=True)
    assert r.trades() == [(None, "refused")]
    with r.engine.connect() as conn:
        row = conn.execute(schema.trades.select()).one()
    assert row.mode == "live" and json.loads(row.detail)["limit"] == "max_gas_price"
    assert r.trader.counters.by_status == {("live", "refused"): 1}
    await r.trader.close()


async def test_a_cancelled_trade_is_not_a_success(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    r.trader.risk.consecutive_failures = 2
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    r.trader.control_service.control.emergency_stop("test", "stop")
    await r.idle()
    cancel = r.trader.pending[0].latest
    assert cancel.kind == "cancel"
    r.rpc.mine(cancel.tx_hash, 4, profit=0)
    r.trader.on_block(4)
    await r.idle()
    assert r.trades() == [(0, "cancelled")]
    assert r.trader.risk.consecutive_failures == 2  # not reset by a cancel
    assert r.trader.risk.daily_pnl == -200_000 * r.rpc.gas_price  # its gas counts
    with r.engine.connect() as conn:
        row = conn.execute(schema.trades.select()).one()
    assert int(row.gas_cost) == 200_000 * r.rpc.gas_price
    await r.trader.close()
