from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.chain.events import BlockHeader, PoolEvent
from edge_node.market.book import MarketBook, NotContiguous, ReorgTooDeep
from edge_node.market.book_records import AppliedBlock
from edge_node.market.candles import Candle
from edge_node.market.pools import PoolInfo, PriceScale
from edge_node.store import rows
from tests.edge_node.market.factory import (
    POOL_A,
    POOL_B,
    POOL_C,
    POOL_V3,
    T0,
    header,
    sync,
    trade,
    v3swap,
)

E18 = 10**18
INTERVALS = [60, 300, 3600]


def new_book(window: int = 16) -> MarketBook:
    return MarketBook([POOL_A, POOL_B, POOL_C, POOL_V3], INTERVALS, window)


def state_of(book: MarketBook) -> dict[str, object]:
    """Everything observable about the book, as plain values."""
    return {
        a: (rec.state.to_list(), [c.to_list() if c else None for c in rec.candles])
        for a, rec in book.pools.items()
    } | {"head": book.head}


def test_price_uses_decimals_and_base_side() -> None:
    assert PriceScale(POOL_A).from_reserves(1000 * E18, 600_000 * E18) == pytest.approx(600.0)
    # ETH (18) / USDC (6): 100 ETH against 300,000 USDC is 3,000 USDC per ETH.
    assert PriceScale(POOL_B).from_reserves(100 * E18, 300_000 * 10**6) == pytest.approx(3000.0)
    # Base is token1 (CAKE), quote token0 (USDT): 2.5 USDT per CAKE.
    assert PriceScale(POOL_C).from_reserves(250 * E18, 100 * E18) == pytest.approx(2.5)
    assert PriceScale(POOL_A).from_reserves(0, 5) is None
    # V3: price = (sqrtPriceX96 / 2^96)^2; sqrt(600) * 2^96 gives 600.
    sp = int(math.sqrt(600) * 2**96)
    assert PriceScale(POOL_V3).from_sqrt_price(sp) == pytest.approx(600.0, rel=1e-9)


def test_a_block_updates_reserves_price_swaps_and_candles() -> None:
    book = new_book()
    h = header(1)
    commit = book.apply_block(h, trade(POOL_A, h, 0, 1001 * E18, 599_401 * E18, E18, 599 * E18))
    st_a = book.pools[POOL_A.address].state
    assert (st_a.reserve0, st_a.reserve1) == (1001 * E18, 599_401 * E18)
    assert st_a.price == pytest.approx(599_401 / 1001)
    assert (st_a.block, st_a.log_index) == (1, 1)
    assert len(commit.swaps) == 1
    _, price, volume_base, volume_quote = commit.swaps[0]
    assert price == pytest.approx(599_401 / 1001)
    assert volume_base == pytest.approx(1.0)
    assert volume_quote == pytest.approx(599.0)
    for c, seconds in zip(book.pools[POOL_A.address].candles, INTERVALS, strict=True):
        assert c is not None
        assert c.open_time == h.timestamp - h.timestamp % seconds
        assert c.open == c.close == c.high == c.low == pytest.approx(599_401 / 1001)
        assert c.trades == 1
    assert book.counters.swaps == 1
    assert book.counters.price_updates == 1


def test_events_are_applied_in_log_order_whatever_order_they_come_in() -> None:
    h = header(1)
    events = trade(POOL_A, h, 0, 1001 * E18, 600_000 * E18, E18, 0) + trade(
        POOL_A, h, 2, 1002 * E18, 590_000 * E18, E18, 0
    )
    a, b = new_book(), new_book()
    a.apply_block(h, events)
    b.apply_block(h, list(reversed(events)) + events[:1])  # reversed, and one duplicate
    assert state_of(a) == state_of(b)
    candle = a.pools[POOL_A.address].candles[0]
    assert candle is not None
    assert candle.open == pytest.approx(600_000 / 1001)
    assert candle.close == pytest.approx(590_000 / 1002)
    assert candle.trades == 2


def test_candles_roll_over_buckets_and_close_by_chain_time() -> None:
    book = new_book()
    h1 = header(1, ts=T0 + 10)
    book.apply_block(h1, trade(POOL_A, h1, 0, 1000 * E18, 600_000 * E18, E18, 0))
    first = book.pools[POOL_A.address].candles[0]
    assert first is not None
    assert not first.closed_at(T0 + 59)
    assert first.closed_at(T0 + 60)
    h2 = header(2, ts=T0 + 70)
    book.apply_block(h2, trade(POOL_A, h2, 0, 1000 * E18, 610_000 * E18, E18, 0))
    second = book.pools[POOL_A.address].candles[0]
    assert second is not None
    assert second.open_time == T0 + 60
    assert second.trades == 1
    five = book.pools[POOL_A.address].candles[1]
    assert five is not None
    assert five.trades == 2
    assert five.high == pytest.approx(610.0)
    assert five.low == pytest.approx(600.0)


def test_v3_swap_updates_price_and_volume() -> None:
    book = new_book()
    h = header(1)
    sp = int(math.sqrt(600) * 2**96)
    commit = book.apply_block(h, [v3swap(POOL_V3, h, 0, 2 * E18, -1200 * E18, sp)])
    rec = book.pools[POOL_V3.address]
    assert rec.state.price == pytest.approx(600.0, rel=1e-9)
    row = rows.swap_row(1, commit.swaps[0], h.timestamp)
    assert (row["amount0_in"], row["amount1_out"], row["amount1_in"], row["amount0_out"]) == (
        2 * E18,
        1200 * E18,
        0,
        0,
    )
    assert row["volume_base"] == pytest.approx(2.0)


def test_unknown_pool_events_are_counted_and_skipped() -> None:
    book = MarketBook([POOL_A], INTERVALS)
    h = header(1)
    book.apply_block(h, trade(POOL_B, h, 0, 1, 1, 1, 1))
    assert book.counters.unknown_pool_events == 2
    assert book.counters.swaps == 0


def test_blocks_must_extend_the_head() -> None:
    book = new_book()
    book.apply_block(header(1), [])
    with pytest.raises(NotContiguous):
        book.apply_block(header(3), [])
    with pytest.raises(NotContiguous):
        book.apply_block(header(2, fork=1, parent_fork=1), [])  # parent is not our block 1
    with pytest.raises(NotContiguous):
        book.apply_block(header(1), [])
    # Unverified blocks (deep backfill) may skip numbers but never go backwards.
    book.apply_block(header(5), [], verified=False)
    assert book.head is not None
    assert book.head.number == 5


def test_an_event_from_another_block_is_refused() -> None:
    book = new_book()
    h1, h2 = header(1), header(2)
    with pytest.raises(ValueError, match="event of block"):
        book.apply_block(h1, [sync(POOL_A, h2, 0, 1, 1)])


def _chain(
    n: int, rng: random.Random, fork: int = 0, start: int = 1
) -> list[tuple[BlockHeader, list[PoolEvent]]]:
    blocks = []
    r0, r1 = 1000 * E18, 600_000 * E18
    for number in range(start, start + n):
        h = header(
            number, ts=T0 + number * 17, fork=fork, parent_fork=fork if number > start else 0
        )
        events: list[PoolEvent] = []
        idx = 0
        for _ in range(rng.randint(0, 4)):
            pool = rng.choice([POOL_A, POOL_B, POOL_C])
            r0 = max(1, r0 + rng.randint(-(10**20), 10**20))
            r1 = max(1, r1 + rng.randint(-(10**22), 10**22))
            events += trade(pool, h, idx, r0, r1, rng.randint(1, 10**19), rng.randint(1, 10**21))
            idx += 2
        blocks.append((h, events))
    return blocks


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(2, 12), st.integers(1, 10))
def test_rollback_then_replay_equals_straight_application(seed: int, n: int, depth: int) -> None:
    rng = random.Random(seed)
    blocks = _chain(n, rng)
    straight = new_book()
    for h, evs in blocks:
        straight.apply_block(h, evs)
    target = max(blocks[0][0].number, n - depth)
    replayed = new_book()
    for h, evs in blocks:
        replayed.apply_block(h, evs)
    rb = replayed.rollback_to(target) if target < n else None
    if rb is not None:
        assert rb.header.number == target
        assert rb.blocks_removed == n - target
    # Rolling back must give exactly the state of a book that only ever saw blocks <= target.
    partial = new_book()
    for h, evs in blocks[:target]:
        partial.apply_block(h, evs)
    assert state_of(replayed) == state_of(partial)
    for h, evs in blocks[target:]:
        replayed.apply_block(h, evs)
    assert state_of(replayed) == state_of(straight)


def test_rollback_to_a_fork_and_follow_it() -> None:
    rng = random.Random(7)
    main = _chain(10, rng)
    book = new_book()
    for h, evs in main:
        book.apply_block(h, evs)
    fork = _chain(5, random.Random(8), fork=1, start=8)  # blocks 8..12 on another branch
    # The fork's block 8 has our block 7 as parent.
    first_h, first_evs = fork[0]
    fork[0] = (
        BlockHeader(first_h.number, first_h.hash, main[6][0].hash, first_h.timestamp),
        first_evs,
    )
    rb = book.rollback_to(7)
    assert rb.blocks_removed == 3
    for h, evs in fork:
        book.apply_block(h, evs)
    expected = new_book()
    for h, evs in main[:7] + fork:
        expected.apply_block(h, evs)
    assert state_of(book) == state_of(expected)


def test_reorg_deeper_than_the_window_is_refused() -> None:
    book = new_book(window=4)
    for h, evs in _chain(10, random.Random(1)):
        book.apply_block(h, evs)
    assert book.oldest_rollback_target() == 7
    book.rollback_to(7)
    with pytest.raises(ReorgTooDeep):
        book.rollback_to(5)


def test_committed_snapshots_do_not_change_afterwards() -> None:
    # The store writer reads commits in another thread, later: they must be immutable.
    book = new_book()
    blocks = _chain(6, random.Random(3))
    commits = [book.apply_block(h, evs) for h, evs in blocks]
    frozen = [
        {
            a: (s.state.to_list(), [c.to_list() if c else None for c in s.candles])
            for a, s in c.pools.items()
        }
        for c in commits
    ]
    for h, evs in _chain(6, random.Random(4), start=7):
        book.apply_block(h, evs)
    book.rollback_to(9)
    again = [
        {
            a: (s.state.to_list(), [c.to_list() if c else None for c in s.candles])
            for a, s in c.pools.items()
        }
        for c in commits
    ]
    assert again == frozen


def test_undo_records_survive_serialisation_and_restore() -> None:
    blocks = _chain(12, random.Random(11))
    live = new_book(window=8)
    commits = [live.apply_block(h, evs) for h, evs in blocks]
    # What the store keeps: the pools as of the head, and each recent block with its undo.
    restored = new_book(window=8)
    recent = [
        rows.applied_block_from_row(
            type(
                "Row",
                (),
                {
                    "number": c.header.number,
                    "hash": c.header.hash,
                    "parent_hash": c.header.parent_hash,
                    "timestamp": c.header.timestamp,
                    "undo": rows.encode_undo(c.undo),
                },
            )
        )
        for c in commits[-8:]
    ]
    assert live.head is not None
    restored.restore(live.head, live.snapshot(), recent)
    assert state_of(restored) == state_of(live)
    live.rollback_to(6)
    restored.rollback_to(6)
    assert state_of(restored) == state_of(live)


def test_candle_serialisation_round_trip() -> None:
    c = Candle(T0, 60, 1.5, 2.0, 1.0, 1.75, 3.25, 5.5, 4, 10, 12)
    assert Candle.from_list(c.to_list()) == c


def test_pool_info_from_config() -> None:
    from shared.config import PoolConfig

    cfg = PoolConfig(
        name="CAKE-USDT",
        address="0x" + "AB" * 20,
        token0="USDT",
        token1="CAKE",
        decimals0=18,
        decimals1=18,
        base="token1",
    )
    info = PoolInfo.from_config(cfg)
    assert info.address == "0x" + "ab" * 20
    assert (info.base, info.quote) == ("CAKE", "USDT")


def test_a_commit_handed_to_the_store_does_not_change_after_a_rollback() -> None:
    book = MarketBook([POOL_A], [60, 300, 3600], 64)
    h1, h2 = header(1), header(2)
    book.apply_block(h1, trade(POOL_A, h1, 0, 10**21, 6 * 10**23, 10**18, 10**20))
    c2 = book.apply_block(h2, trade(POOL_A, h2, 0, 11 * 10**20, 5 * 10**23, 10**18, 10**20))
    written = rows.encode_undo(c2.undo)  # what the writer persists for block 2, maybe later
    book.rollback_to(1)  # block 2 is replaced while its commit is still queued
    h2b = header(2, fork=1, parent_fork=0)
    book.apply_block(h2b, trade(POOL_A, h2b, 0, 9 * 10**20, 7 * 10**23, 5 * 10**18, 10**20))
    assert rows.encode_undo(c2.undo) == written


def _stored_undo(book: MarketBook) -> list[AppliedBlock]:
    """The undo window as the store gives it back (serialised and parsed again)."""
    return [AppliedBlock(b.header, rows.decode_undo(rows.encode_undo(b.undo))) for b in book.recent]


@pytest.mark.parametrize(
    "intervals_after", [[60, 300, 3600], [60, 3600], [3600, 60, 300], [60, 300, 900, 3600]]
)
def test_undo_written_under_another_configuration_fits_the_new_one(
    intervals_after: list[int],
) -> None:
    before = MarketBook([POOL_A, POOL_B], [60, 300, 3600], 64)
    for n in (1, 2, 3):
        h = header(n)
        before.apply_block(
            h,
            trade(POOL_A, h, 0, 10**21 + n, 6 * 10**23, 10**18, 10**20)
            + trade(POOL_B, h, 2, 10**21, 6 * 10**11 + n, 10**18, 10**8),
        )
    # The operator drops pool B and changes the intervals, restarts; block 3 was reorged.
    reference = MarketBook([POOL_A], intervals_after, 64)
    for n in (1, 2):
        h = header(n)
        reference.apply_block(h, trade(POOL_A, h, 0, 10**21 + n, 6 * 10**23, 10**18, 10**20))
    after = MarketBook([POOL_A], intervals_after, 64)
    assert before.head is not None
    snaps = {a: s for a, s in before.snapshot().items() if a == POOL_A.address}
    by_seconds = {c.seconds: c for c in snaps[POOL_A.address].candles if c is not None}
    snap = snaps[POOL_A.address]
    snaps[POOL_A.address] = type(snap)(snap.state, [by_seconds.get(s) for s in intervals_after])
    after.restore(before.head, snaps, _stored_undo(before))
    rb = after.rollback_to(2)
    assert set(rb.pools) == {POOL_A.address}
    assert [c.seconds if c else None for c in rb.pools[POOL_A.address].candles] == [
        s if s in (60, 300, 3600) else None for s in intervals_after
    ]
    assert after.pools[POOL_A.address].state.reserve0 == 10**21 + 2
    expected = reference.pools[POOL_A.address].candles
    got = after.pools[POOL_A.address].candles
    for seconds, want, have in zip(intervals_after, expected, got, strict=True):
        assert have == (want if seconds in (60, 300, 3600) else None)


def test_the_time_of_the_last_price_change_is_the_chain_time_of_its_block() -> None:
    book = new_book()
    assert [book.counters.last_price_update_time] == [None]  # (no narrowing for mypy)
    h1 = header(1, ts=T0 + 10)
    book.apply_block(h1, trade(POOL_A, h1, 0, 1000 * E18, 600_000 * E18, E18, 0))
    assert book.counters.last_price_update_time == T0 + 10
    # A block whose events leave every price as it was is no price update.
    h2 = header(2, ts=T0 + 20)
    book.apply_block(h2, [sync(POOL_A, h2, 0, 1000 * E18, 600_000 * E18)])
    assert book.counters.price_updates == 1
    assert book.counters.last_price_update_time == T0 + 10
    h3 = header(3, ts=T0 + 30)
    book.apply_block(h3, [sync(POOL_A, h3, 0, 1000 * E18, 610_000 * E18)])
    assert book.counters.last_price_update_time == T0 + 30
