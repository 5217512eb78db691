from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from edge_node.strategy.cpmm import amount_out, optimal_input, round_trip

RES = st.integers(10**18, 10**27)
FEE = st.sampled_from([0, 5, 25, 30, 100])


def test_amount_out_is_the_v2_formula() -> None:
    # 1 token into a 1000/600000 pool at 0.25%: the classic V2 numbers, floored.
    assert amount_out(10**18, 1000 * 10**18, 600_000 * 10**18, 25) == (
        10**18 * 9975 * 600_000 * 10**18 // (1000 * 10**18 * 10_000 + 10**18 * 9975)
    )
    assert amount_out(0, 1, 1, 25) == 0
    assert amount_out(5, 0, 1, 25) == 0


@settings(max_examples=300, deadline=None)
@given(RES, RES, FEE, RES, RES, FEE)
def test_the_closed_form_is_the_integer_optimum(
    a_in: int, a_out: int, fee_a: int, b_in: int, b_out: int, fee_b: int
) -> None:
    x = optimal_input(a_in, a_out, fee_a, b_in, b_out, fee_b)

    def profit(v: int) -> int:
        return round_trip(v, a_in, a_out, fee_a, b_in, b_out, fee_b)[1] - v

    if x == 0:
        # No profitable size: a small trade and a large one both lose.
        assert profit(a_in // 1000) <= 0
        assert profit(a_in // 10) <= 0
        return
    assume(x > 1000)
    best = profit(x)
    assert best > 0
    # Within the rounding of the pairs' floor divisions, no other size does better.
    for v in (x // 2, x * 9 // 10, x * 99 // 100, x * 101 // 100, x * 11 // 10, x * 2):
        assert profit(v) <= best + 2


def test_no_trade_when_the_gap_does_not_beat_the_fees() -> None:
    # Same price in both pools: nothing to gain whatever the fees.
    assert optimal_input(10**21, 6 * 10**23, 25, 6 * 10**23, 10**21, 30) == 0
    # A 0.4% gap does not cover 0.25% + 0.30%.
    assert optimal_input(10**21, 6 * 10**23, 25, 6 * 10**23, 1004 * 10**18, 30) == 0
    # A 1% gap does.
    assert optimal_input(10**21, 6 * 10**23, 25, 6 * 10**23, 1010 * 10**18, 30) > 0
