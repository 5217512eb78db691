from __future__ import annotations

import pytest

from edge_node.market.pools import PoolInfo
from edge_node.strategy.arbitrage import ArbPair, ArbParams, TwoPoolArbitrage
from edge_node.strategy.cpmm import round_trip

E18 = 10**18
A = PoolInfo("0x" + "aa" * 20, "WBNB-USDT", "v2", "WBNB", "USDT", 18, 18, True, 25)
B = PoolInfo("0x" + "bb" * 20, "WBNB-USDT-30", "v2", "WBNB", "USDT", 18, 18, True, 30)
WBNB = "0x" + "0b" * 20
PAIR = ArbPair("WBNB-USDT", A, B, WBNB, capital_is_token0=True)
PARAMS = ArbParams(min_profit=E18 // 1000, max_input=100 * E18, gas_limit=250_000)


def view(a: tuple[int, int], b: tuple[int, int]):
    state = {A.address: (*a, 10, 1), B.address: (*b, 10, 3)}
    return lambda pool: state[pool]


def test_buys_where_cheap_sells_where_dear() -> None:
    s = TwoPoolArbitrage([PAIR], PARAMS)
    # WBNB is cheaper in B (650 USDT there... no: 1000 WBNB vs 590k USDT = 590) than in A (600).
    reserves = view((1000 * E18, 600_000 * E18), (1000 * E18, 590_000 * E18))
    (intent,) = s.on_update(A.address, reserves, gas_price=3 * 10**9, capital_available=10**30)
    # Buy the middle token (USDT) with WBNB where WBNB buys most USDT: pool A (600/WBNB).
    assert intent.pool_buy == A.address and intent.pool_sell == B.address
    assert intent.token_in == WBNB
    mid, back = round_trip(
        intent.amount_in, 1000 * E18, 600_000 * E18, 25, 590_000 * E18, 1000 * E18, 30
    )
    assert (intent.expected_mid, intent.expected_out) == (mid, back)
    assert intent.gas_cost == 250_000 * 3 * 10**9
    assert intent.expected_net == back - intent.amount_in - intent.gas_cost >= PARAMS.min_profit
    assert intent.min_profit == intent.gas_cost + PARAMS.min_profit
    assert (intent.trigger_block, intent.trigger_log_index) == (10, 3)
    assert (intent.strategy, intent.pair) == ("two_pool_arbitrage", "WBNB-USDT")
    assert (intent.fee_buy_bps, intent.fee_sell_bps) == (25, 30)
    assert (intent.gas_limit, intent.gas_price) == (250_000, 3 * 10**9)


def test_the_other_direction() -> None:
    s = TwoPoolArbitrage([PAIR], PARAMS)
    reserves = view((1000 * E18, 590_000 * E18), (1000 * E18, 600_000 * E18))
    (intent,) = s.on_update(B.address, reserves, gas_price=10**9, capital_available=10**30)
    assert intent.pool_buy == B.address and intent.pool_sell == A.address


def test_nothing_when_gas_eats_the_profit() -> None:
    s = TwoPoolArbitrage([PAIR], PARAMS)
    # A 1.7% gap makes about 0.016 WBNB on about 2.8 WBNB in.
    reserves = view((1000 * E18, 600_000 * E18), (1000 * E18, 590_000 * E18))
    assert s.on_update(A.address, reserves, gas_price=10**9, capital_available=10**30)
    # At 200 gwei gas costs 0.05 WBNB: no longer worth it.
    assert not s.on_update(A.address, reserves, gas_price=200 * 10**9, capital_available=10**30)


def test_size_is_clamped_to_max_input_and_capital() -> None:
    s = TwoPoolArbitrage([PAIR], PARAMS)
    reserves = view((1000 * E18, 600_000 * E18), (1000 * E18, 500_000 * E18))
    (free,) = s.on_update(A.address, reserves, gas_price=10**9, capital_available=10**30)
    assert 40 * E18 < free.amount_in < 45 * E18  # the optimum, about 42.2 WBNB
    s.update_params(ArbParams(min_profit=E18 // 1000, max_input=20 * E18, gas_limit=250_000))
    (capped,) = s.on_update(A.address, reserves, gas_price=10**9, capital_available=10**30)
    assert capped.amount_in == 20 * E18  # max_input caps it
    (small,) = s.on_update(A.address, reserves, gas_price=10**9, capital_available=7 * E18)
    assert small.amount_in == 7 * E18  # so does the capital the executor holds


def test_disabled_and_unrelated_pools() -> None:
    s = TwoPoolArbitrage([PAIR], PARAMS)
    reserves = view((1000 * E18, 600_000 * E18), (1000 * E18, 500_000 * E18))
    assert s.on_update("0x" + "cc" * 20, reserves, 10**9, 10**30) == []
    s.update_params(ArbParams(min_profit=0, max_input=E18, gas_limit=250_000, enabled=False))
    assert s.on_update(A.address, reserves, 10**9, 10**30) == []


@pytest.mark.parametrize("capital_is_token0", [True, False])
def test_capital_on_either_side(capital_is_token0: bool) -> None:
    a = PoolInfo(A.address, "A", "v2", "X", "Y", 18, 18, True, 25)
    b = PoolInfo(B.address, "B", "v2", "X", "Y", 18, 18, True, 30)
    pair = ArbPair("X-Y", a, b, WBNB, capital_is_token0)
    s = TwoPoolArbitrage([pair], PARAMS)
    cap_a, mid_a, cap_b, mid_b = 1000 * E18, 600_000 * E18, 1000 * E18, 580_000 * E18
    ra = (cap_a, mid_a) if capital_is_token0 else (mid_a, cap_a)
    rb = (cap_b, mid_b) if capital_is_token0 else (mid_b, cap_b)
    (intent,) = s.on_update(A.address, view(ra, rb), 10**9, 10**30)
    assert intent.pool_buy == A.address
    assert intent.expected_net > 0
