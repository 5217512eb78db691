"""The journal's commits are durable on both stores (point 5 of issue 7): its own engine fsyncs
at every commit, whatever the market-data engine does."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from edge_node.execution.journal import Journal
from shared.db.engine import create_engine, migrate


def test_the_sqlite_journal_commits_with_synchronous_full(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)
    journal = Journal(engine, 56, "0x" + "11" * 20)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        with journal.engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 2  # FULL
            assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        journal.record(nonce=0, tx_hash="0x" + "ab" * 32, raw_tx="0x00", kind="trade", gas_price=1)
        assert journal.nonces() == [0]
    finally:
        journal.close()
        engine.dispose()


@pytest.mark.postgres
def test_the_postgres_journal_forces_synchronous_commit_on(pg_url: str) -> None:
    # A store URL that turns synchronous commits off (as a tuned server or role may): fine for
    # market data, not for the journal.
    url = make_url(pg_url)
    options = f"{url.query['options']} -c synchronous_commit=off"
    engine = create_engine(url.update_query_dict({"options": options}).render_as_string(False))
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "off"
    journal = Journal(engine, 56, "0x" + "11" * 20)
    try:
        with journal.engine.connect() as conn:
            assert conn.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
            # The URL's own options (the test schema's search_path) are kept.
            assert "t_" in conn.execute(text("SHOW search_path")).scalar_one()
        journal.record(nonce=3, tx_hash="0x" + "cd" * 32, raw_tx="0x00", kind="trade", gas_price=1)
        assert journal.nonces() == [3]
    finally:
        journal.close()
        engine.dispose()
