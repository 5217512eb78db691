"""Constant-product (Uniswap/PancakeSwap V2) maths, in exact integers as the pairs compute it.

Two pools A and B of the same tokens. Buying the middle token in A with x of the capital token,
then selling all of it in B, returns

    z(x) = K x / (M + N x)        (the composition of the two pools' Möbius maps)

with, for fees fA, fB in basis points (gA = 10000 - fA, gB = 10000 - fB, D = 10000),

    K = gA gB a_out b_out,   M = a_in b_in D²,   N = gA (b_in D + gB a_out)

where a_in/a_out are A's reserves of the capital and middle token and b_in/b_out B's reserves
of the middle and capital token. The profit z(x) - x is concave; its maximum is where
z'(x) = 1:

    x* = (sqrt(K M) - M) / N,    positive only if K > M (the price gap beats both fees).

The closed form gives the size; the amounts themselves are then computed with the pairs' own
integer formula (floor division), so the expected outputs are exactly what the pairs pay.
"""

from __future__ import annotations

from math import isqrt

BPS = 10_000


def amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """What a V2 pair pays for ``amount_in`` (its getAmountOut, exactly)."""
    if amount_in <= 0 or reserve_in <= 0 or reserve_out <= 0:
        return 0
    with_fee = amount_in * (BPS - fee_bps)
    return with_fee * reserve_out // (reserve_in * BPS + with_fee)


def optimal_input(a_in: int, a_out: int, fee_a: int, b_in: int, b_out: int, fee_b: int) -> int:
    """The input that maximises z(x) - x for the round trip A then B (0 if none profits)."""
    if min(a_in, a_out, b_in, b_out) <= 0:
        return 0
    g_a, g_b = BPS - fee_a, BPS - fee_b
    k = g_a * g_b * a_out * b_out
    m = a_in * b_in * BPS * BPS
    if k <= m:
        return 0
    n = g_a * (b_in * BPS + g_b * a_out)
    return (isqrt(k * m) - m) // n


def round_trip(
    x: int, a_in: int, a_out: int, fee_a: int, b_in: int, b_out: int, fee_b: int
) -> tuple[int, int]:
    """(middle tokens from A, capital tokens back from B) for input x, as the pairs compute."""
    mid = amount_out(x, a_in, a_out, fee_a)
    return mid, amount_out(mid, b_in, b_out, fee_b)
