"""The block assembler: subscription logs checked against confirmation answers, and the live
overlay kept to the chain the follower confirmed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
import pytest

from edge_node.chain.decode import parse_header
from edge_node.chain.events import BlockHeader, SyncEvent
from edge_node.chain.wire import RawLog
from edge_node.ingest import assembler as assembler_module
from edge_node.ingest.assembler import BlockAssembler, InconsistentBlock
from edge_node.ingest.follower import Follower
from edge_node.market.book import MarketBook
from edge_node.market.book_records import BlockCommit, Rollback
from edge_node.market.pools import PoolInfo
from edge_node.rpc.errors import ResponseInvalid
from edge_node.telemetry import Metrics
from tests.edge_node.chain import logs as L
from tests.support.fake_chain import FakeChain, bhash

POOL = L.POOL


def raw(log: dict[str, Any]) -> RawLog:
    return msgspec.convert(log, RawLog)


def header(number: int, fork: int = 0) -> BlockHeader:
    return BlockHeader(number, bhash(number, fork), bhash(number - 1, 0), 1_700_000_000 + number)


def block_logs(number: int, fork: int = 0, r0: int = 1000) -> list[dict[str, Any]]:
    """A Sync and a Swap of one block, as a node sends them."""
    h = bhash(number, fork)
    return [
        L.v2_sync(r0, 2000, block=number, block_hash=h, index=0),
        L.v2_swap(1, 0, 0, 1, block=number, block_hash=h, index=1),
    ]


def subscribed(a: BlockAssembler, logs: list[dict[str, Any]]) -> None:
    for lg in logs:
        a.on_log(raw(lg))


def taken(a: BlockAssembler, h: BlockHeader, logs: list[dict[str, Any]]) -> list[Any]:
    return a.take(h, [raw(lg) for lg in logs])


# --- subscription logs reused at confirmation ---------------------------------------------------


def test_subscription_logs_are_reused_when_the_answer_holds_them() -> None:
    a = BlockAssembler(Metrics())
    logs = block_logs(100)
    subscribed(a, logs)
    events = taken(a, header(100), logs)
    assert [e.log_index for e in events] == [0, 1]
    assert (a.reused, a.decoded) == (2, 0)
    assert a.pending == {}


def test_a_reused_log_of_another_block_number_is_inconsistent() -> None:
    a = BlockAssembler(Metrics())
    answer = block_logs(100)
    # The subscription delivered the block's logs under its hash, but numbered 99.
    subscribed(a, [dict(lg, blockNumber=hex(99)) for lg in answer])
    with pytest.raises(InconsistentBlock, match="block 99"):
        taken(a, header(100), answer)
    # The answer alone decides the next time: its own numbers are checked against the header.
    assert [e.block_number for e in taken(a, header(100), answer)] == [100, 100]


# --- answers lacking logs the subscription delivered --------------------------------------------


@pytest.mark.parametrize("kept", [0, 1])
def test_an_answer_lacking_subscription_logs_is_refused(kept: int) -> None:
    metrics = Metrics()
    a = BlockAssembler(metrics)
    logs = block_logs(100)
    subscribed(a, logs)
    with pytest.raises(InconsistentBlock, match="lacks"):
        taken(a, header(100), logs[:kept])  # a backend that has not indexed the block (yet)
    assert metrics.market_data_errors["incomplete_logs"] == 1
    # The subscription's logs are kept: a second short answer is refused as well ...
    with pytest.raises(InconsistentBlock):
        taken(a, header(100), logs[:kept])
    # ... and a complete one accepted, reusing them.
    assert len(taken(a, header(100), logs)) == 2
    assert a.reused == 2


def test_logs_withdrawn_with_removed_are_not_required() -> None:
    a = BlockAssembler(Metrics(), on_removed=lambda ev: None)
    logs = block_logs(100)
    subscribed(a, logs)
    subscribed(a, [dict(lg, removed=True) for lg in logs])
    assert taken(a, header(100), []) == []


def test_indexes_spelt_differently_in_the_answer_still_count() -> None:
    a = BlockAssembler(Metrics())
    logs = block_logs(100)
    subscribed(a, logs)
    answer = [dict(lg, logIndex="0x0" + lg["logIndex"][2:]) for lg in logs]
    assert [e.log_index for e in taken(a, header(100), answer)] == [0, 1]
    assert (a.reused, a.decoded) == (0, 2)


def test_refusals_are_bounded_so_a_wrong_subscription_cannot_stop_the_node(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(assembler_module, "MAX_REFUSALS", 3)
    a = BlockAssembler(Metrics())
    logs = block_logs(100)
    subscribed(a, logs)
    for _ in range(3):
        with pytest.raises(InconsistentBlock):
            taken(a, header(100), logs[:1])
    assert len(taken(a, header(100), logs[:1])) == 1
    assert a.refusals == {}


@dataclass
class Unindexed(FakeChain):
    """A backend that answers ``[]`` to the next ``blank`` eth_getLogs by block hash."""

    blank: int = 0

    def _answer(self, method: str, params: Any) -> Any:
        result = super()._answer(method, params)
        if method == "eth_getLogs" and "blockHash" in params[0] and self.blank > 0:
            self.blank -= 1
            return []
        return result


class Sink:
    def __init__(self) -> None:
        self.commits: list[BlockCommit] = []

    async def commit(self, commit: BlockCommit) -> None:
        self.commits.append(commit)

    async def rollback(self, rollback: Rollback) -> None:
        raise AssertionError("no reorg here")


def stored_keys(sink: Sink) -> set[tuple[str, int]]:
    return {(s[0].block_hash, s[0].log_index) for c in sink.commits for s in c.swaps}


def follower_on() -> tuple[Follower, Sink, MarketBook]:
    pool = PoolInfo(POOL, "P", "v2", "A", "B", 18, 18, True, 25)
    book = MarketBook([pool], [60], 8)
    sink = Sink()
    f = Follower(book, sink, Metrics(), addresses=[POOL], start_block=0)
    return f, sink, book


@pytest.mark.parametrize("blank", [1, 3])
async def test_the_follower_asks_again_when_an_answer_lacks_subscription_logs(
    blank: int,
) -> None:
    chain = Unindexed()
    chain.mine(10, POOL)
    f, sink, book = follower_on()
    await f.sync_to(chain, chain.head)
    chain.mine(1, POOL)
    new = chain.blocks[-1]
    subscribed(f.assembler, chain.logs[new["hash"]])
    chain.blank = blank
    await f.on_head(chain, parse_header(new))
    assert book.head is not None and book.head.hash == new["hash"]
    assert stored_keys(sink) == chain.swap_keys()


async def test_a_backend_that_never_has_the_logs_is_given_up_on() -> None:
    chain = Unindexed()
    chain.mine(10, POOL)
    f, sink, book = follower_on()
    await f.sync_to(chain, chain.head)
    chain.mine(1, POOL)
    new = chain.blocks[-1]
    subscribed(f.assembler, chain.logs[new["hash"]])
    chain.blank = 1000
    with pytest.raises(ResponseInvalid):
        await f.on_head(chain, parse_header(new))
    assert book.head is not None and book.head.number == 9
    # Another endpoint (here: the same one, indexed by now) serves the block in full.
    chain.blank = 0
    await f.on_head(chain, parse_header(new))
    assert stored_keys(sink) == chain.swap_keys()


# --- the live overlay follows the confirmed chain -----------------------------------------------


def test_confirming_a_block_drops_the_subscription_logs_of_its_rivals() -> None:
    a = BlockAssembler(Metrics())
    orphan = block_logs(100, fork=1, r0=111)
    subscribed(a, orphan)
    subscribed(a, block_logs(100, r0=222))
    subscribed(a, block_logs(101, r0=333))  # a child of the winner, not confirmed yet
    taken(a, header(100), block_logs(100, r0=222))
    assert set(a.pending) == {bhash(101)}
    live = a.latest_state(POOL, (0, 0))
    assert isinstance(live, SyncEvent) and live.reserve0 == 333


def test_orphans_lower_down_are_dropped_too() -> None:
    a = BlockAssembler(Metrics())
    taken(a, header(99), block_logs(99))
    subscribed(a, block_logs(99, fork=1))  # late, from the fork that lost at 99
    subscribed(a, block_logs(100))
    taken(a, header(100), block_logs(100))
    assert a.pending == {}


def test_the_live_state_is_never_from_a_block_that_lost() -> None:
    a = BlockAssembler(Metrics())
    taken(a, header(100), block_logs(100, r0=222))
    # A fork's block at the confirmed height arrives after the confirmation (anvil never sends
    # removed logs for it): it must not become the live price.
    subscribed(a, block_logs(100, fork=1, r0=111))
    assert a.latest_state(POOL, (0, 0)) is None
    # Neither a block below the head that was never confirmed.
    subscribed(a, block_logs(98, fork=1, r0=98))
    assert a.latest_state(POOL, (0, 0)) is None
    # The confirmed block's own late logs are what they are.
    subscribed(a, block_logs(100, r0=222))
    live = a.latest_state(POOL, (0, 0))
    assert isinstance(live, SyncEvent) and live.reserve0 == 222
    # Above the head, everything received counts (the newest first).
    subscribed(a, block_logs(101, fork=1, r0=444))
    live = a.latest_state(POOL, (0, 0))
    assert isinstance(live, SyncEvent) and live.reserve0 == 444


def test_a_rollback_forgets_the_confirmations() -> None:
    a = BlockAssembler(Metrics())
    taken(a, header(100), block_logs(100))
    a.clear()  # what the follower does when it rolls back
    subscribed(a, block_logs(100, fork=1, r0=111))
    live = a.latest_state(POOL, (0, 0))
    assert isinstance(live, SyncEvent) and live.reserve0 == 111


def test_confirming_lower_down_supersedes_what_was_confirmed_above() -> None:
    a = BlockAssembler(Metrics())
    for n in (100, 101, 102):
        taken(a, header(n), block_logs(n))
    taken(a, header(101, fork=1), block_logs(101, fork=1))
    assert (a.confirmed_head, a.confirmed.get(102)) == (101, None)
    subscribed(a, block_logs(102, fork=1, r0=555))
    live = a.latest_state(POOL, (0, 0))
    assert isinstance(live, SyncEvent) and live.reserve0 == 555


def test_a_late_log_of_a_block_that_lost_never_reaches_the_trader() -> None:
    seen: list[Any] = []
    a = BlockAssembler(Metrics(), on_state_event=seen.append)
    taken(a, header(100), block_logs(100, r0=222))
    subscribed(a, block_logs(100, fork=1, r0=111))  # lost at 100, arrives late
    subscribed(a, block_logs(99, fork=1, r0=99))  # below the head, never confirmed
    assert seen == []
    assert a.orphaned == 4
    subscribed(a, block_logs(101, fork=1, r0=444))  # above the head: live data
    assert [ev.reserve0 for ev in seen] == [444]
