from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from edge_node.market.book import MarketBook
from edge_node.store import reader
from edge_node.store.batches import AuditOp, CommitOp, RegisterPoolsOp, RollbackOp
from edge_node.store.writer import StoreWriter
from shared.db import schema
from shared.db.engine import create_engine, migrate
from tests.edge_node.market.factory import POOL_A, POOL_B, POOL_C, POOL_V3, T0
from tests.edge_node.market.test_book import _chain, state_of
from tests.support.waiting import WITHIN_S, eventually

INTERVALS = [("1m", 60), ("5m", 300), ("1h", 3600)]
POOLS = [POOL_A, POOL_B, POOL_C, POOL_V3]
CHAIN = 31337


def new_book(window: int = 16) -> MarketBook:
    return MarketBook(POOLS, [s for _, s in INTERVALS], window)


def make_writer(url: str, window: int = 16) -> StoreWriter:
    engine = create_engine(url)
    migrate(engine)
    w = StoreWriter(engine, CHAIN, "listener:test", INTERVALS, window, retry_initial_s=0.05)
    w.start()
    w.submit(RegisterPoolsOp(POOLS))
    return w


def restored_book(url: str, window: int = 16) -> MarketBook:
    engine = create_engine(url)
    state = reader.load_resume_state(engine, CHAIN, "listener:test", INTERVALS)
    engine.dispose()
    book = new_book(window)
    assert state.head is not None
    book.restore(state.head, state.pools, state.recent)
    return book


def test_commits_then_restart_restore_the_same_book(db_url: str) -> None:
    writer = make_writer(db_url)
    book = new_book()
    for h, evs in _chain(30, random.Random(5)):
        writer.submit(CommitOp(book.apply_block(h, evs)))
    assert writer.stop(timeout=30)
    assert writer.stats.committed_block == 30
    again = restored_book(db_url)
    assert state_of(again) == state_of(book)
    assert [b.header for b in again.recent] == [b.header for b in book.recent]
    # Swaps are all there, each once.
    engine = create_engine(db_url)
    expected = {
        (s.block_hash, s.log_index)
        for h, evs in _chain(30, random.Random(5))
        for s in evs
        if hasattr(s, "amount0_in")
    }
    assert reader.swap_keys(engine, CHAIN) == expected
    engine.dispose()


def test_replaying_commits_is_harmless(db_url: str) -> None:
    writer = make_writer(db_url)
    book = new_book()
    commits = [book.apply_block(h, evs) for h, evs in _chain(8, random.Random(2))]
    for c in commits + commits[3:]:  # a replay after a crash would resend some
        writer.submit(CommitOp(c))
    assert writer.stop(timeout=30)
    engine = create_engine(db_url)
    n = reader.counts(engine, CHAIN)["swaps"]
    engine.dispose()
    assert n == sum(len(c.swaps) for c in commits)


def test_rollback_in_the_store_matches_the_book(db_url: str) -> None:
    writer = make_writer(db_url)
    book = new_book()
    for h, evs in _chain(20, random.Random(9)):
        writer.submit(CommitOp(book.apply_block(h, evs)))
    rb = book.rollback_to(14)
    writer.submit(RollbackOp(rb))
    assert writer.stop(timeout=30)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        top = conn.execute(
            select(schema.swaps.c.block_number).order_by(schema.swaps.c.block_number.desc())
        ).first()
        blocks_top = conn.execute(
            select(schema.blocks.c.number).order_by(schema.blocks.c.number.desc())
        ).first()
    assert top is not None and top.block_number <= 14
    assert blocks_top is not None and blocks_top.number == 14
    cp = reader.checkpoint(engine, "listener:test")
    assert cp is not None and cp.block_number == 14
    engine.dispose()
    assert state_of(restored_book(db_url)) == state_of(book)


def test_candles_are_closed_only_when_chain_time_passes_their_end(db_url: str) -> None:
    writer = make_writer(db_url)
    book = new_book()
    from tests.edge_node.market.factory import header, trade

    h1 = header(1, ts=T0 + 5)
    writer.submit(CommitOp(book.apply_block(h1, trade(POOL_A, h1, 0, 10**21, 6 * 10**23, 1, 1))))
    h2 = header(2, ts=T0 + 59)
    writer.submit(CommitOp(book.apply_block(h2, [])))
    assert writer.flush(10)
    engine = create_engine(db_url)
    rows = reader.candles(engine, CHAIN, POOL_A.address, "1m", 10)
    assert [r["closed"] for r in rows] == [False]
    h3 = header(3, ts=T0 + 60)
    writer.submit(CommitOp(book.apply_block(h3, [])))
    assert writer.flush(10)
    assert [r["closed"] for r in reader.candles(engine, CHAIN, POOL_A.address, "1m", 10)] == [True]
    assert [r["closed"] for r in reader.candles(engine, CHAIN, POOL_A.address, "5m", 10)] == [False]
    # A rollback to before the end reopens it.
    writer.submit(RollbackOp(book.rollback_to(2)))
    assert writer.flush(10)
    assert [r["closed"] for r in reader.candles(engine, CHAIN, POOL_A.address, "1m", 10)] == [False]
    writer.stop()
    engine.dispose()


def test_audit_entries(sqlite_url: str) -> None:
    writer = make_writer(sqlite_url)
    writer.submit(AuditOp("tester", "reorg", '{"to_block": 5}'))
    assert writer.stop(10)
    engine = create_engine(sqlite_url)
    with engine.connect() as conn:
        row = conn.execute(select(schema.audit_log)).one()
    assert (row.actor, row.action) == ("tester", "reorg")
    engine.dispose()


@pytest.mark.postgres
def test_a_database_that_disappears_mid_run_loses_nothing(pg_url: str) -> None:
    """The writer goes through a proxy we cut; commits wait, retry, and all arrive."""
    from sqlalchemy.engine import make_url

    from edge_node.devchain.tcp_proxy import TcpProxy

    real = make_url(pg_url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        writer = make_writer(via_proxy)
        book = new_book()
        blocks = _chain(40, random.Random(21))
        for h, evs in blocks[:10]:
            writer.submit(CommitOp(book.apply_block(h, evs)))
        assert writer.flush(20)
        proxy.down()  # the database vanishes
        for h, evs in blocks[10:]:
            writer.submit(CommitOp(book.apply_block(h, evs)))
        eventually(lambda: writer.stats.db_errors > 0, what="a failed write")
        assert writer.stats.retrying_since is not None
        assert writer.stats.committed_block is not None and writer.stats.committed_block < 40
        proxy.up()  # and comes back
        assert writer.stop(timeout=60)
    assert writer.failed is None
    assert writer.stats.committed_block == 40
    assert state_of(restored_book(pg_url)) == state_of(book)
    engine = create_engine(pg_url)
    assert reader.counts(engine, CHAIN)["swaps"] == sum(
        1 for _, evs in blocks for e in evs if hasattr(e, "amount0_in")
    )
    engine.dispose()


@pytest.mark.postgres
def test_stopping_while_the_database_is_down_gives_up_in_time_and_keeps_the_checkpoint(
    pg_url: str,
) -> None:
    from sqlalchemy.engine import make_url

    from edge_node.devchain.tcp_proxy import TcpProxy

    real = make_url(pg_url)
    blocks = _chain(12, random.Random(4))
    book = new_book()
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        writer = make_writer(via_proxy)
        for h, evs in blocks[:5]:
            writer.submit(CommitOp(book.apply_block(h, evs)))
        assert writer.flush(20)
        at_five = state_of(book)
        proxy.down()
        for h, evs in blocks[5:]:
            writer.submit(CommitOp(book.apply_block(h, evs)))
        eventually(lambda: writer.stats.db_errors > 0, what="the writer in its retry loop")
        assert writer.stop(timeout=2.0) is False  # gives up: the queue could not be written
        # ...and its thread ends instead of retrying on (how fast is the benchmarks' to say:
        # a connection attempt in flight can hold it past the budget on a loaded machine).
        writer._thread.join(WITHIN_S)
        assert not writer._thread.is_alive()
    # Nothing half-written: the store is exactly as of block 5, ready to replay from there.
    engine = create_engine(pg_url)
    cp = reader.checkpoint(engine, "listener:test")
    engine.dispose()
    assert cp is not None and cp.block_number == 5
    assert state_of(restored_book(pg_url)) == at_five


def test_malformed_identifiers_are_stored_but_counted(sqlite_url: str) -> None:
    from tests.edge_node.market.factory import header, swap, sync

    seen: list[str] = []
    engine = create_engine(sqlite_url)
    migrate(engine)
    writer = StoreWriter(engine, CHAIN, "listener:test", INTERVALS, 16, on_malformed=seen.append)
    writer.start()
    writer.submit(RegisterPoolsOp(POOLS))
    book = new_book()
    h = header(1)
    bad = swap(POOL_A, h, 1, 1, 0, 0, 5)._replace(tx_hash="0x" + "ZZ" * 32)
    writer.submit(CommitOp(book.apply_block(h, [sync(POOL_A, h, 0, 10, 10), bad])))
    assert writer.stop(10)
    assert writer.stats.malformed_identifiers == 1
    assert seen == ["malformed_identifier"]
    with engine.connect() as conn:
        row = conn.execute(select(schema.swaps)).one()
    assert row.tx_hash == "0x" + "zz" * 32  # kept, lower-cased like every stored identifier
    engine.dispose()
