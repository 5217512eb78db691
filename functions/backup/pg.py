"""PostgreSQL plumbing the backup needs below SQLAlchemy: psycopg connections, COPY, catalogs.

Every session that writes or reads COPY text sets the same output settings, so that a table
dumped from the source and the same table dumped again from a restored copy give the same
bytes (UTC timestamps, ISO dates, shortest exact floats, UTF-8). Synchronized sequential scans
are off, so a scan always starts at the table's first page and a restored table, loaded in dump
order, reads back in that order.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from shared.db.engine import normalize_url

SESSION = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET client_encoding = 'UTF8'",
    "SET synchronize_seqscans = off",
)


def parse(url: str) -> URL:
    return make_url(normalize_url(url))


def conninfo(url: str | URL) -> str:
    parsed = parse(url) if isinstance(url, str) else url
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def connect(url: str | URL, autocommit: bool = False) -> psycopg.Connection:
    conn = psycopg.connect(conninfo(url), autocommit=autocommit, connect_timeout=10)
    for stmt in SESSION:
        conn.execute(stmt)
    if not autocommit:
        conn.commit()
    return conn


@dataclass(frozen=True, slots=True)
class TableShape:
    name: str
    columns: list[str]
    primary_key: list[str]


def tables(conn: psycopg.Connection) -> list[TableShape]:
    """The ordinary tables of the schema the connection's search_path selects (the store's)."""
    rows = conn.execute(
        """
        SELECT c.oid, c.relname FROM pg_class c
        WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
          AND c.relname <> 'alembic_version'
        ORDER BY c.relname
        """
    ).fetchall()
    shapes = []
    for oid, name in rows:
        cols = [
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s AND attnum > 0"
                " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                (oid,),
            )
        ]
        pk = [
            r[0]
            for r in conn.execute(
                """
                SELECT a.attname FROM pg_index i
                JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                WHERE i.indrelid = %s AND i.indisprimary
                ORDER BY array_position(i.indkey::int2[], a.attnum)
                """,
                (oid,),
            )
        ]
        shapes.append(TableShape(name, cols, pk))
    return shapes


def sequences(conn: psycopg.Connection) -> dict[str, sql.Identifier]:
    """ "table.column" -> the sequence (qualified name) that feeds it, for the store's schema."""
    rows = conn.execute(
        """
        SELECT t.relname, a.attname, n.nspname, s.relname
        FROM pg_class s
        JOIN pg_namespace n ON n.oid = s.relnamespace
        JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass
             AND d.refclassid = 'pg_class'::regclass
        JOIN pg_class t ON t.oid = d.refobjid
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
        WHERE s.relkind = 'S' AND t.relnamespace = current_schema()::regnamespace
        """
    ).fetchall()
    return {f"{t}.{c}": sql.Identifier(ns, seq) for t, c, ns, seq in rows}


def revision(conn: psycopg.Connection) -> str | None:
    exists = conn.execute(
        "SELECT 1 FROM pg_class WHERE relname = 'alembic_version'"
        " AND relnamespace = current_schema()::regnamespace"
    ).fetchone()
    if not exists:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def copy_out(table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) TO STDOUT").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )


def copy_in(table: str, columns: list[str]) -> sql.Composed:
    return sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
