"""The capital token's price in the quote currency over time, from stored candles (pure).

A trade is priced at the close of the candle that contains its time, or of the latest earlier
one; a trade before the first candle is left unpriced (counted, never guessed).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Closes of consecutive candles: ``open_times`` ascending, ``closes`` in quote per capital."""

    quote: str
    source: str  # what the prices are, in words, for the report
    open_times: Sequence[int]
    closes: Sequence[float]

    def at(self, t: float) -> float | None:
        i = bisect_right(self.open_times, t)
        return None if i == 0 else self.closes[i - 1]

    @classmethod
    def from_candles(
        cls,
        quote: str,
        source: str,
        candles: Sequence[tuple[int, float]],
        capital_is_base: bool,
    ) -> PriceSeries:
        """Candles are (open_time, close) with close in quote per base, as the node stores
        them; inverted when the capital token is the pool's quote side."""
        ordered = sorted(candles)
        closes = [c if capital_is_base else (1.0 / c if c else 0.0) for _, c in ordered]
        return cls(quote, source, [t for t, _ in ordered], closes)
