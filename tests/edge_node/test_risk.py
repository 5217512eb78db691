"""Each risk limit refuses a trade that breaks it."""

from __future__ import annotations

from typing import Any

import pytest

from edge_node import risk
from edge_node.risk import Outcome, RiskGate, RiskLimits
from edge_node.strategy.intents import Intent

E18 = 10**18
GWEI = 10**9
NOW = 1_800_000_000.0
LIMITS = RiskLimits(
    max_trade_size=10 * E18,
    max_daily_loss=E18,
    max_gas_price=20 * GWEI,
    min_gas_balance=E18 // 20,
    max_consecutive_failures=3,
    max_data_age_s=10.0,
)
INTENT = Intent(
    "two_pool_arbitrage",
    "P",
    "0xa",
    25,
    "0xb",
    30,
    "0xc",
    5 * E18,
    0,
    5 * E18 + E18 // 10,
    250_000,
    5 * GWEI,
    250_000 * 5 * GWEI,
    0,
    1,
    1,
)
OK: dict[str, Any] = {"gas_price": 5 * GWEI, "gas_balance": E18, "data_age_s": 1.0, "now": NOW}


def test_a_trade_within_every_limit_passes() -> None:
    gate = RiskGate(LIMITS)
    assert gate.check(INTENT, **OK) is None
    assert gate.refusals == {}


@pytest.mark.parametrize(
    ("intent", "overrides", "limit", "pause"),
    [
        (INTENT._replace(amount_in=10 * E18 + 1), {}, risk.MAX_TRADE_SIZE, False),
        (INTENT, {"gas_price": 20 * GWEI + 1}, risk.MAX_GAS_PRICE, False),
        (INTENT, {"gas_balance": E18 // 20}, risk.MIN_GAS_BALANCE, False),
        (INTENT, {"data_age_s": 10.5}, risk.STALE_MARKET_DATA, True),
    ],
)
def test_each_limit_refuses(
    intent: Intent, overrides: dict[str, float], limit: str, pause: bool
) -> None:
    gate = RiskGate(LIMITS)
    refusal = gate.check(intent, **{**OK, **overrides})
    assert refusal is not None
    assert refusal.limit == limit
    assert refusal.pause is pause
    assert gate.refusals == {limit: 1}


def test_max_daily_loss_and_the_next_day() -> None:
    gate = RiskGate(LIMITS)
    gate.record(Outcome(success=True, net=-E18 + INTENT.gas_cost // 2), NOW)
    refusal = gate.check(INTENT, **OK)
    assert refusal is not None and refusal.limit == risk.MAX_DAILY_LOSS
    # Profits offset losses.
    gate.record(Outcome(success=True, net=E18 // 2), NOW)
    assert gate.check(INTENT, **OK) is None
    gate.record(Outcome(success=True, net=-E18), NOW)
    assert gate.check(INTENT, **OK) is not None
    # A new UTC day starts from zero.
    assert gate.check(INTENT, **{**OK, "now": NOW + 86_400}) is None


def test_max_consecutive_failures_pauses() -> None:
    gate = RiskGate(LIMITS)
    for _ in range(2):
        gate.record(Outcome(success=False, net=-INTENT.gas_cost), NOW)
    assert gate.check(INTENT, **OK) is None
    gate.record(Outcome(success=False, net=-INTENT.gas_cost), NOW)
    refusal = gate.check(INTENT, **OK)
    assert refusal is not None
    assert refusal.limit == risk.MAX_CONSECUTIVE_FAILURES
    assert refusal.pause
    gate.reset_failures()  # the operator resumed
    assert gate.check(INTENT, **OK) is None
    gate.record(Outcome(success=False, net=-1), NOW)
    gate.record(Outcome(success=True, net=5), NOW)  # a success breaks the streak
    assert gate.consecutive_failures == 0
