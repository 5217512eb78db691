"""Loading checked archive events into an empty schema, and dumping it again to compare.

The schema is made by the Alembic migrations at the backup's revision, never from the backup,
so a restored store is exactly what the node's own migrations would have made. Tables are
loaded in dump order; after loading, every table is read back in the same order and its row
count and sha256 compared with the manifest (the proof that the restore holds what was backed
up, not only that the object was intact).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator

import psycopg
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from functions.backup import pg
from functions.backup import sqlite as lite
from functions.backup.archive import CHUNK, Event
from functions.backup.dump import Progress
from functions.backup.errors import BackupCorrupt
from functions.backup.manifest import Manifest
from functions.backup.pg import TableShape
from functions.backup.reading import rows_only
from shared.db.engine import MIGRATIONS_DIR


def migrate_on(conn: Connection, revision: str) -> None:
    """Run the migrations to ``revision`` on this connection, inside its transaction."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def _check_shape(manifest: Manifest, have: dict[str, list[str]]) -> None:
    problems = []
    for t in manifest.tables:
        cols = have.get(t.name)
        if cols is None:
            problems.append(
                f"table {t.name} of the backup does not exist at revision {manifest.revision}"
            )
        elif missing := [c for c in t.columns if c not in cols]:
            problems.append(
                f"table {t.name}: columns {missing} do not exist at revision {manifest.revision}"
            )
    if problems:
        raise BackupCorrupt(problems)


def load_postgres(
    conn: psycopg.Connection,
    manifest: Manifest,
    events: Iterator[Event],
    progress: Progress | None = None,
) -> None:
    for stmt in pg.SESSION:
        conn.execute(stmt)
    _check_shape(manifest, {s.name: s.columns for s in pg.tables(conn)})
    cur = conn.cursor()
    # Migrations seed some rows (default flags); the backup's rows replace them.
    for t in manifest.tables:
        cur.execute(psycopg.sql.SQL("DELETE FROM {}").format(psycopg.sql.Identifier(t.name)))
    for start, chunks in rows_only(events):
        with cur.copy(pg.copy_in(start.name, start.columns)) as copy:
            for data in chunks:
                copy.write(data)
        if progress:
            progress(start.name, manifest.table(start.name).rows)  # type: ignore[union-attr]
    for col, seq in pg.sequences(conn).items():
        table, column = col.split(".", 1)
        top = conn.execute(
            psycopg.sql.SQL("SELECT max({}) FROM {}").format(
                psycopg.sql.Identifier(column), psycopg.sql.Identifier(table)
            )
        ).fetchone()
        value = max(
            manifest.sequences.get(col, 0), int(top[0]) if top and top[0] is not None else 0
        )
        if value > 0:
            conn.execute("SELECT setval(%s::regclass, %s, true)", (seq.as_string(conn), value))


def load_sqlite(
    conn: sqlite3.Connection,
    manifest: Manifest,
    events: Iterator[Event],
    progress: Progress | None = None,
) -> None:
    shapes = {s.name: s for s in lite.tables(conn)}
    _check_shape(manifest, {n: s.columns for n, s in shapes.items()})
    # Migrations seed some rows (default flags); the backup's rows replace them.
    for t in manifest.tables:
        conn.execute(f"DELETE FROM {lite.quote(t.name)}")  # noqa: S608 - a quoted identifier
    for start, chunks in rows_only(events):
        shape = TableShape(start.name, start.columns, shapes[start.name].primary_key)
        by_name = dict(
            zip(shapes[start.name].columns, lite.converters(conn, start.name), strict=True)
        )
        convert = [by_name[c] for c in start.columns]
        for data in chunks:
            try:
                lite.insert(conn, shape, lite.parse_rows(data, convert, start.name))
            except ValueError as err:
                raise BackupCorrupt([str(err)]) from None
        if progress:
            progress(start.name, manifest.table(start.name).rows)  # type: ignore[union-attr]


def _compare(manifest: Manifest, table: str, rows: int, sha: str) -> str | None:
    entry = manifest.table(table)
    assert entry is not None
    if rows != entry.rows:
        return f"table {table}: {rows} rows restored, the manifest says {entry.rows}"
    if sha != entry.sha256:
        return f"table {table}: the restored rows' checksum differs from the manifest"
    return None


def compare_postgres(conn: psycopg.Connection, manifest: Manifest) -> list[str]:
    """Read every restored table back and compare its row count and sha256 with the manifest."""
    problems = []
    for t in manifest.tables:
        sha, rows, buf = hashlib.sha256(), 0, bytearray()
        with conn.cursor().copy(pg.copy_out(t.name, t.columns)) as copy:
            for data in copy:
                buf += data
                if len(buf) >= CHUNK:
                    sha.update(buf)
                    rows += buf.count(b"\n")
                    buf.clear()
        sha.update(buf)
        rows += buf.count(b"\n")
        if problem := _compare(manifest, t.name, rows, sha.hexdigest()):
            problems.append(problem)
    return problems


def compare_sqlite(conn: sqlite3.Connection, manifest: Manifest) -> list[str]:
    problems = []
    for t in manifest.tables:
        shape = TableShape(t.name, t.columns, t.order_by)
        sha, rows = hashlib.sha256(), 0
        for chunk in lite.copy_text(conn, shape):
            sha.update(chunk)
            rows += chunk.count(b"\n")
        if problem := _compare(manifest, t.name, rows, sha.hexdigest()):
            problems.append(problem)
    return problems
