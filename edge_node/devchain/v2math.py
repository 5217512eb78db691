"""Constant-product swap maths with the fee in basis points, exactly as PairV2 enforces it.

Kept in integers so Python and the contract agree to the wei: the pair accepts an output iff it
is at most ``get_amount_out`` of the input.
"""

from __future__ import annotations

BPS = 10_000


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    """The largest output the pair's K check accepts for ``amount_in`` (rounded down)."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("the pair has no liquidity")
    if not 0 <= fee_bps < BPS:
        raise ValueError(f"fee_bps must be in [0, {BPS}), got {fee_bps}")
    in_after_fee = amount_in * (BPS - fee_bps)
    return in_after_fee * reserve_out // (reserve_in * BPS + in_after_fee)
