"""After a prune: give the space back and refresh the planner's statistics; measure the size.

PostgreSQL: ``VACUUM (ANALYZE)`` of the pruned tables, outside any transaction (VACUUM refuses
to run in one); a plain VACUUM takes no lock that blocks reads or writes. SQLite: ``VACUUM``
rewrites the file (it holds the write lock while it does: the node's writer waits on its busy
timeout) and ``ANALYZE``. The size published is the database's (PostgreSQL
``pg_database_size``) or the SQLite file's, WAL included.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sqlalchemy import Engine, text

from shared.db import schema

PRUNED = (
    schema.swaps.name,
    schema.blocks.name,
    schema.audit_log.name,
    schema.trades.name,
    schema.tx_journal.name,
)


def vacuum_analyze(engine: Engine, tables: Sequence[str] = PRUNED) -> None:
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    with auto.connect() as conn:
        if engine.dialect.name == "postgresql":
            quoted = ", ".join(engine.dialect.identifier_preparer.quote(t) for t in tables)
            conn.execute(text(f"VACUUM (ANALYZE) {quoted}"))
        else:
            conn.execute(text("VACUUM"))
            conn.execute(text("ANALYZE"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))


def database_size_bytes(engine: Engine) -> int:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_database_size(current_database())"))
            return int(size.scalar_one())
        path = engine.url.database
        if path and path != ":memory:":
            return sum(os.path.getsize(p) for p in (path, f"{path}-wal") if os.path.exists(p))
        pages = conn.execute(text("PRAGMA page_count")).scalar_one()
        size = conn.execute(text("PRAGMA page_size")).scalar_one()
        return int(pages) * int(size)
