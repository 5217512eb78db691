"""OHLCV candles built from swaps.

Candle time is chain time: a swap belongs to the bucket of its block's timestamp. A candle is
closed once a fully processed block's timestamp reaches the bucket's end, never earlier, so a
still-forming candle is never reported as closed (not even after a stall: no new blocks, no
closing).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import CANDLE_INTERVALS


def bucket_start(timestamp: int, seconds: int) -> int:
    return timestamp - timestamp % seconds


@dataclass(slots=True)
class Candle:
    open_time: int
    seconds: int
    open: float
    high: float
    low: float
    close: float
    volume_base: float
    volume_quote: float
    trades: int
    first_block: int
    last_block: int

    @property
    def end_time(self) -> int:
        return self.open_time + self.seconds

    def closed_at(self, chain_time: int) -> bool:
        """Whether the bucket is over as of a processed block with this timestamp."""
        return chain_time >= self.open_time + self.seconds

    def add(self, price: float, volume_base: float, volume_quote: float, block: int) -> None:
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.volume_base += volume_base
        self.volume_quote += volume_quote
        self.trades += 1
        self.last_block = block

    def copy(self) -> Candle:
        return Candle(
            self.open_time,
            self.seconds,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume_base,
            self.volume_quote,
            self.trades,
            self.first_block,
            self.last_block,
        )

    def to_list(self) -> list[float | int]:
        return [
            self.open_time,
            self.seconds,
            self.open,
            self.high,
            self.low,
            self.close,
            self.volume_base,
            self.volume_quote,
            self.trades,
            self.first_block,
            self.last_block,
        ]

    @classmethod
    def from_list(cls, v: list[float | int]) -> Candle:
        ot, sec, o, h, lo, c, vb, vq, n, fb, lb = v
        return cls(int(ot), int(sec), o, h, lo, c, vb, vq, int(n), int(fb), int(lb))


def new_candle(
    timestamp: int, seconds: int, price: float, volume_base: float, volume_quote: float, block: int
) -> Candle:
    return Candle(
        bucket_start(timestamp, seconds),
        seconds,
        price,
        price,
        price,
        price,
        volume_base,
        volume_quote,
        1,
        block,
        block,
    )


def interval_seconds(names: list[str]) -> list[tuple[str, int]]:
    return [(n, CANDLE_INTERVALS[n]) for n in names]
