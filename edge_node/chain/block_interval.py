"""The chain's block interval as the node observes it (pure): the median of the timestamp gaps
between the blocks it processed recently, per block.

Alerts compare the age of the last processed block with it (``RpcHeadLag``: more than five
intervals without a block), so one threshold holds for any chain: 3 s blocks on BSC, 12 s on
Ethereum, 1 s on the laptop's anvil.

- Two processed blocks need not be neighbours (a backfill fetches headers only for blocks
  with logs): a gap counts as ``(t2 - t1) / (n2 - n1)``, the average over the blocks between.
- The median over the last ``window`` gaps: one slow block, a missed slot or a chain halt moves
  it by at most one rank, not to the halt's length.
- A block at or below the previous one (a reorg rolled back, a restart from a checkpoint) gives
  no gap; the next one is measured from it. A timestamp going backwards gives none either.
- Never below ``MIN_INTERVAL_S``: timestamps have a resolution of one second, so a faster chain
  shows gaps of 0 and 1 and the age of its last block is itself only known to a second.
- Before two blocks have been seen: ``DEFAULT_INTERVAL_S``, the slowest chain we follow
  (Ethereum's slot), so that an alert reading it fires late rather than spuriously.
"""

from __future__ import annotations

from collections import deque
from statistics import median

DEFAULT_INTERVAL_S = 12.0
MIN_INTERVAL_S = 1.0
WINDOW = 64


class BlockInterval:
    __slots__ = ("_gaps", "_last", "seconds")

    def __init__(self, window: int = WINDOW, default: float = DEFAULT_INTERVAL_S) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1: {window}")
        self._gaps: deque[float] = deque(maxlen=window)
        self._last: tuple[int, int] | None = None
        # The estimate, recomputed on each block: a scrape (another thread) reads one float.
        self.seconds = max(default, MIN_INTERVAL_S)

    def observe(self, number: int, timestamp: int) -> None:
        """A block processed (in the order the node processes them)."""
        last, self._last = self._last, (number, timestamp)
        if last is None or number <= last[0] or timestamp < last[1]:
            return
        self._gaps.append((timestamp - last[1]) / (number - last[0]))
        self.seconds = max(float(median(self._gaps)), MIN_INTERVAL_S)
