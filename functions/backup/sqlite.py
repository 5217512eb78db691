"""SQLite plumbing: the online backup API, catalogs, and rows to and from COPY text.

SQLite rows are written in PostgreSQL's COPY text format too (\\N for NULL; backslash, tab,
newline and carriage return escaped), so both kinds of backup share one archive format and one
reader. Values come back through SQLite's column affinity: integers, reals and text round-trip
exactly (a float is written as its shortest exact repr).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.engine import make_url

from functions.backup.pg import TableShape
from shared.db.engine import normalize_url

ROWS_PER_FETCH = 5000


class NotSqlite(ValueError):
    pass


def path_of(url: str) -> Path:
    parsed = make_url(normalize_url(url))
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        raise NotSqlite(f"not an SQLite file URL: {url}")
    return Path(parsed.database)


def snapshot(source: Path, dest: Path) -> None:
    """A consistent copy of ``source`` (WAL included) through SQLite's online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            # One step: the whole copy is made under one read transaction, so it is one snapshot
            # even while the node keeps writing (WAL readers never block the writer).
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def quote(name: str) -> str:
    """An SQL identifier, quoted (names come from the database's own catalog)."""
    return '"' + name.replace('"', '""') + '"'


def affinity(declared: str) -> str:
    """SQLite's column affinity for a declared type (https://sqlite.org/datatype3.html 3.1)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


def _int_or_text(v: str) -> int | str:
    try:
        return int(v)
    except ValueError:
        return v


# Text to number in Python, not by SQLite's affinity: SQLite's own text-to-real conversion is not
# always correctly rounded, Python's float() is (and repr() gives the shortest exact text back).
_CONVERT: dict[str, Callable[[str], object]] = {
    "INTEGER": _int_or_text,
    "REAL": float,
    "NUMERIC": _int_or_text,
}


def converters(conn: sqlite3.Connection, table: str) -> list[Callable[[str], object] | None]:
    return [
        _CONVERT.get(affinity(r[2])) for r in conn.execute(f"PRAGMA table_info({quote(table)})")
    ]


def tables(conn: sqlite3.Connection) -> list[TableShape]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name <> 'alembic_version' ORDER BY name"
        )
    ]
    shapes = []
    for name in names:
        info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        cols = [r[1] for r in info]
        pk = [r[1] for r in sorted((r for r in info if r[5] > 0), key=lambda r: r[5])]
        shapes.append(TableShape(name, cols, pk))
    return shapes


def revision(conn: sqlite3.Connection) -> str | None:
    has = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='alembic_version'"
    ).fetchone()
    if not has:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, str):
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            value = (
                value.replace("\\", "\\\\")
                .replace("\t", "\\t")
                .replace("\n", "\\n")
                .replace("\r", "\\r")
            )
        return value
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


def copy_text(conn: sqlite3.Connection, table: TableShape) -> Iterator[bytes]:
    """The table's rows as COPY text, in primary-key order (rowid order without one)."""
    order = ", ".join(map(quote, table.primary_key)) or "rowid"
    cols = ", ".join(map(quote, table.columns))
    cur = conn.execute(f"SELECT {cols} FROM {quote(table.name)} ORDER BY {order}")  # noqa: S608
    while True:
        rows = cur.fetchmany(ROWS_PER_FETCH)
        if not rows:
            return
        yield "".join("\t".join(map(_field, row)) + "\n" for row in rows).encode()


def _unescape(field: str) -> str | None:
    if field == "\\N":
        return None
    if "\\" not in field:
        return field
    out = []
    i = 0
    while i < len(field):
        ch = field[i]
        if ch == "\\" and i + 1 < len(field):
            nxt = field[i + 1]
            out.append({"t": "\t", "n": "\n", "r": "\r"}.get(nxt, nxt))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def parse_rows(
    data: bytes, convert: list[Callable[[str], object] | None], table: str
) -> list[tuple[object, ...]]:
    rows = []
    width = len(convert)
    for line in data.decode().split("\n")[:-1]:
        fields = line.split("\t")
        if len(fields) != width:
            raise ValueError(f"table {table}: a row has {len(fields)} fields, the table {width}")
        row = []
        for field, conv in zip(fields, convert, strict=True):
            value = _unescape(field)
            row.append(conv(value) if conv is not None and value is not None else value)
        rows.append(tuple(row))
    return rows


def insert(conn: sqlite3.Connection, table: TableShape, rows: list[tuple[object, ...]]) -> None:
    marks = ", ".join("?" * len(table.columns))
    cols = ", ".join(map(quote, table.columns))
    conn.executemany(f"INSERT INTO {quote(table.name)} ({cols}) VALUES ({marks})", rows)  # noqa: S608
