"""The follower's logic on an in-memory chain: ranges, tips, reorgs and refusals."""

from __future__ import annotations

import pytest

from edge_node.ingest.follower import Follower
from edge_node.market.book import MarketBook, ReorgTooDeep
from edge_node.market.book_records import BlockCommit, Rollback
from edge_node.market.pools import PoolInfo
from edge_node.rpc.errors import EndpointUnavailable, ResponseInvalid
from edge_node.telemetry import Metrics
from tests.support.fake_chain import FakeChain

POOL = PoolInfo("0x" + "11" * 20, "P", "v2", "A", "B", 18, 18, True, 25)


class Sink:
    def __init__(self) -> None:
        self.commits: list[BlockCommit] = []
        self.rollbacks: list[Rollback] = []

    async def commit(self, commit: BlockCommit) -> None:
        self.commits.append(commit)

    async def rollback(self, rollback: Rollback) -> None:
        self.rollbacks.append(rollback)
        self.commits = [c for c in self.commits if c.header.number <= rollback.header.number]


def follower(window: int = 8, max_range: int = 50) -> tuple[Follower, Sink, MarketBook]:
    book = MarketBook([POOL], [60, 300, 3600], window)
    sink = Sink()
    f = Follower(
        book, sink, Metrics(), addresses=[POOL.address], getlogs_max_range=max_range, start_block=0
    )
    return f, sink, book


def stored_keys(sink: Sink) -> set[tuple[str, int]]:
    return {(s[0].block_hash, s[0].log_index) for c in sink.commits for s in c.swaps}


async def test_backfill_deep_ranges_then_the_tip_block_by_block() -> None:
    chain = FakeChain()
    chain.mine(120, POOL.address)
    f, sink, book = follower(window=8, max_range=50)
    await f.sync_to(chain, chain.head)
    assert book.head is not None and book.head.number == 119
    assert stored_keys(sink) == chain.swap_keys()
    # Old blocks came in ranges; only the last window was fetched by hash.
    assert chain.calls.count("eth_getLogs") < 40
    assert all(c.verified for c in sink.commits if c.header.number > 119 - 8)
    assert f.metrics.block_interval.seconds == 3.0  # the fake chain's blocks are 3 s apart


async def test_ranges_a_node_refuses_are_split() -> None:
    chain = FakeChain(max_range=7)
    chain.mine(100, POOL.address)
    f, sink, _ = follower(window=4, max_range=64)
    await f.sync_to(chain, chain.head)
    assert stored_keys(sink) == chain.swap_keys()


async def test_ranges_that_time_out_are_split_too() -> None:
    chain = FakeChain(slow_range=9)
    chain.mine(100, POOL.address)
    f, sink, _ = follower(window=4, max_range=64)
    await f.sync_to(chain, chain.head)
    assert stored_keys(sink) == chain.swap_keys()


async def test_answers_refused_as_too_large_are_split_and_later_ranges_start_smaller() -> None:
    chain = FakeChain(big_range=10)
    chain.mine(100, POOL.address)
    f, sink, _ = follower(window=4, max_range=64)
    await f.sync_to(chain, chain.head)
    assert stored_keys(sink) == chain.swap_keys()
    assert f.max_range <= 10  # remembered: a websocket that refused one is closed by it


async def test_a_reorg_at_the_tip_is_rolled_back() -> None:
    chain = FakeChain()
    chain.mine(30, POOL.address)
    f, sink, book = follower(window=8)
    await f.sync_to(chain, chain.head)
    chain.reorg(3, POOL.address, fork=1)
    chain.mine(2, POOL.address, fork=1)
    head = chain.blocks[-1]
    from edge_node.chain.decode import parse_header

    await f.on_head(chain, parse_header(head))
    assert len(sink.rollbacks) == 1
    assert sink.rollbacks[0].header.number == 26
    assert stored_keys(sink) == chain.swap_keys()
    assert book.head is not None and book.head.hash == head["hash"]


async def test_a_reorg_deeper_than_the_window_stops_loudly() -> None:
    chain = FakeChain()
    chain.mine(30, POOL.address)
    f, _, _ = follower(window=4)
    await f.sync_to(chain, chain.head)
    chain.reorg(10, POOL.address, fork=2)
    with pytest.raises(ReorgTooDeep, match=r"deeper than chain\.reorg_window"):
        await f.resolve_reorg(chain)


async def test_a_malformed_log_in_an_answer_is_refused_not_skipped() -> None:
    chain = FakeChain()
    chain.mine(5, POOL.address)
    f, sink, _ = follower()
    chain.corrupt_next_logs = True
    with pytest.raises(ResponseInvalid):
        await f.sync_to(chain, chain.head)
    await f.sync_to(chain, chain.head)  # asked again (elsewhere, in the node): nothing lost
    assert stored_keys(sink) == chain.swap_keys()
    assert f.metrics.market_data_errors["malformed_log"] == 1


def lagging(chain: FakeChain, upto: int) -> FakeChain:
    """Another endpoint on the same chain that has only seen blocks up to ``upto``."""
    return FakeChain(name="lagging", blocks=chain.blocks[: upto + 1], logs=chain.logs)


@pytest.mark.parametrize("lag", [3, 70])
async def test_an_endpoint_behind_us_is_waited_for_not_taken_for_a_reorg(lag: int) -> None:
    chain = FakeChain()
    chain.mine(200, POOL.address)
    f, sink, book = follower(window=64)
    await f.sync_to(chain, chain.head)
    behind = lagging(chain, chain.head - lag)
    # What a session on a lagging fallback does first: the reorg check, then the catch-up.
    assert await f.resolve_reorg(behind) is None
    await f.sync_to(behind, behind.head)
    assert sink.rollbacks == []
    assert f.metrics.reorgs == 0
    assert book.head is not None and book.head.number == chain.head
    if lag < book.window:
        # When it shows another block at a height we hold, that is a reorg again.
        behind.reorg(2, POOL.address, fork=1)
        rb = await f.resolve_reorg(behind)
        assert rb is not None and rb.header.number == behind.head - 2


async def test_a_fresh_start_can_roll_back_its_first_blocks() -> None:
    chain = FakeChain()
    chain.mine(50, POOL.address)
    book = MarketBook([POOL], [60], 16)
    sink = Sink()
    f = Follower(book, sink, Metrics(), addresses=[POOL.address])  # no start_block
    await f.sync_to(chain, chain.head)
    assert book.oldest_rollback_target() == chain.head - 15
    chain.reorg(1, POOL.address, fork=1)
    chain.mine(1, POOL.address, fork=1)
    from edge_node.chain.decode import parse_header

    await f.on_head(chain, parse_header(chain.blocks[-1]))
    assert [rb.header.number for rb in sink.rollbacks] == [chain.head - 2]
    assert book.head is not None and book.head.hash == chain.blocks[-1]["hash"]
    assert stored_keys(sink) == {k for k in chain.swap_keys() if int(k[0][4:], 16) >= 34}


async def test_an_endpoint_that_announces_blocks_it_does_not_serve_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import edge_node.ingest.follower as follower_module

    monkeypatch.setattr(follower_module, "_MAX_STALLS", 3)
    chain = FakeChain()
    chain.mine(20, POOL.address)
    f, _, _ = follower(window=8)
    await f.sync_to(chain, chain.head)
    # eth_blockNumber or newHeads from a backend ahead of the one serving headers.
    with pytest.raises(EndpointUnavailable, match="does not serve block 20"):
        await f.sync_to(chain, chain.head + 1)
    assert chain.calls.count("eth_getBlockByNumber") <= 4 + 20
