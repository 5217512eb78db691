"""The block interval estimate: median per-block gap, robust to halts, reorgs and rounding."""

from __future__ import annotations

import pytest

from edge_node.chain.block_interval import DEFAULT_INTERVAL_S, MIN_INTERVAL_S, BlockInterval


def fed(blocks: list[tuple[int, int]], window: int = 64) -> BlockInterval:
    b = BlockInterval(window)
    for number, timestamp in blocks:
        b.observe(number, timestamp)
    return b


def test_starts_at_the_default_until_two_blocks_are_seen() -> None:
    assert BlockInterval().seconds == DEFAULT_INTERVAL_S
    assert fed([(100, 1_000)]).seconds == DEFAULT_INTERVAL_S
    assert fed([(100, 1_000), (101, 1_003)]).seconds == 3.0


def test_the_median_ignores_a_halt_and_a_missed_slot() -> None:
    blocks = [(n, 1_000 + 12 * n) for n in range(10)]
    blocks += [(10, blocks[-1][1] + 600), (11, blocks[-1][1] + 624)]  # a halt, a missed slot
    assert fed(blocks).seconds == 12.0


def test_blocks_between_two_processed_ones_share_the_gap() -> None:
    # a backfill fetches headers only for blocks with logs
    assert fed([(100, 1_000), (110, 1_030), (130, 1_090)]).seconds == 3.0


def test_a_rollback_or_a_clock_going_back_gives_no_gap() -> None:
    # a window of two, so that one wrong gap would move the median
    b = fed([(100, 1_000), (101, 1_002), (102, 1_004)], window=2)
    b.observe(101, 1_003)  # the reorg's replacement block: measured from, not against
    assert b.seconds == 2.0  # not (1003 - 1004) / (101 - 102) = 1 s beside the last 2 s
    b.observe(102, 1_005)
    assert b.seconds == 2.0  # gaps 2, then 2 (101 -> 102)
    b.observe(103, 1_001)  # a timestamp before its parent's: no gap
    assert b.seconds == 2.0  # not a median of 2 and -4


def test_subsecond_chains_are_floored_at_the_timestamps_resolution() -> None:
    # 0.25 s blocks: integer timestamps step 0, 0, 0, 1
    blocks = [(n, 1_000 + n // 4) for n in range(40)]
    assert fed(blocks).seconds == MIN_INTERVAL_S


def test_only_the_last_window_counts() -> None:
    blocks = [(n, 3 * n) for n in range(20)] + [(20 + n, 60 + 12 * n) for n in range(1, 9)]
    assert fed(blocks, window=8).seconds == 12.0


def test_a_window_must_hold_a_gap() -> None:
    with pytest.raises(ValueError, match="window"):
        BlockInterval(0)
