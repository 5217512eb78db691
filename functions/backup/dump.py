"""Dumping a store into the archive format: one consistent snapshot across all tables.

PostgreSQL: COPY ... TO STDOUT of every table inside one REPEATABLE READ READ ONLY transaction,
streamed through psycopg, so every table is read at the same instant, as pg_dump does. We use
COPY rather than pg_dump itself: no client binary that must match the server's version (a
bundled pg_dump older than the server aborts), nothing to install in a Lambda, and the rows
arrive as a stream we compress, checksum and count on the way. The schema itself is not
dumped: it is the Alembic revision recorded in the manifest, and a restore recreates it by
running the migrations to that revision.

SQLite: the online backup API copies the file to a temporary file (one snapshot, WAL
included), which is then dumped the same way.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from functions.backup import pg
from functions.backup import sqlite as lite
from functions.backup.archive import ArchiveWriter
from functions.backup.errors import SourceUnavailable
from functions.backup.manifest import Dialect

Progress = Callable[[str, int], None]  # (table, rows so far)


@dataclass(slots=True)
class SourceInfo:
    dialect: Dialect
    server_version: str
    revision: str | None
    sequences: dict[str, int] = field(default_factory=dict)


def dialect_of(url: str) -> Dialect:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def dump(
    url: str, writer: ArchiveWriter, progress: Progress | None = None, tmp_dir: Path | None = None
) -> SourceInfo:
    if dialect_of(url) == "sqlite":
        return dump_sqlite(url, writer, progress, tmp_dir)
    return dump_postgres(url, writer, progress)


def dump_postgres(url: str, writer: ArchiveWriter, progress: Progress | None = None) -> SourceInfo:
    try:
        conn = pg.connect(url)
    except psycopg.Error as err:
        raise SourceUnavailable(f"cannot connect to the database: {str(err).strip()}") from err
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        with conn.transaction():
            # The snapshot is taken by the first query below; everything after reads it.
            version = conn.execute("SHOW server_version").fetchone()
            info = SourceInfo("postgresql", str(version[0] if version else "?"), pg.revision(conn))
            seqs = pg.sequences(conn)
            for shape in pg.tables(conn):
                writer.begin_table(shape.name, shape.columns, [])
                n = 0
                with conn.cursor().copy(pg.copy_out(shape.name, shape.columns)) as copy:
                    for data in copy:
                        writer.write_rows(data)
                        n += 1
                        if progress and n % 100_000 == 0:
                            progress(shape.name, n)
                writer.end_table()
                if progress:
                    progress(shape.name, n)
            # Sequences are not transactional: read last, so each is at least the highest id
            # in the snapshot. A restore sets each to the greater of this and the table's max.
            for col, seq in seqs.items():
                query = psycopg.sql.SQL("SELECT last_value, is_called FROM {}").format(seq)
                row = conn.execute(query).fetchone()
                if row and row[1]:
                    info.sequences[col] = int(row[0])
        return info
    except psycopg.Error as err:
        raise SourceUnavailable(f"the database failed during the dump: {str(err).strip()}") from err
    finally:
        conn.close()


def dump_sqlite(
    url: str, writer: ArchiveWriter, progress: Progress | None = None, tmp_dir: Path | None = None
) -> SourceInfo:
    source = lite.path_of(url)
    if not source.exists():
        raise SourceUnavailable(f"the SQLite database {source} does not exist")
    with tempfile.TemporaryDirectory(prefix="edge-backup-", dir=tmp_dir) as tmp:
        copy = Path(tmp) / "snapshot.db"
        try:
            lite.snapshot(source, copy)
        except sqlite3.Error as err:
            raise SourceUnavailable(f"cannot read the SQLite database {source}: {err}") from err
        conn = sqlite3.connect(copy)
        try:
            info = SourceInfo("sqlite", f"SQLite {sqlite3.sqlite_version}", lite.revision(conn))
            for shape in lite.tables(conn):
                writer.begin_table(shape.name, shape.columns, shape.primary_key)
                for chunk in lite.copy_text(conn, shape):
                    writer.write_rows(chunk)
                table = writer.end_table()
                if progress:
                    progress(shape.name, table.rows)
            return info
        finally:
            conn.close()
