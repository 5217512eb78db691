"""Scratch databases for verification and drills: created, used, and always dropped.

PostgreSQL: a temporary database on the server the scratch URL names (the database in that
URL is only used to connect; its search_path option is dropped, the new database is empty).
SQLite: a file in a temporary directory.
"""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from functions.backup import pg
from functions.backup.errors import SourceUnavailable
from functions.backup.manifest import Dialect
from functions.common.errors import BadInput


class NoScratchServer(BadInput):
    """Verifying a PostgreSQL backup needs a server: pass --scratch or set DATABASE_URL."""


@contextmanager
def scratch_database(
    dialect: Dialect, server_url: str | None, tmp_dir: Path | None = None
) -> Iterator[str]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="edge-scratch-", dir=tmp_dir) as tmp:
            yield f"sqlite:///{tmp}/scratch.db"
        return
    if not server_url or server_url.startswith("sqlite"):
        raise NoScratchServer(
            "verifying a PostgreSQL backup needs a PostgreSQL server for the scratch database: "
            "pass --scratch postgresql://... or set DATABASE_URL"
        )
    name = f"edge_scratch_{secrets.token_hex(6)}"
    base = pg.parse(server_url).difference_update_query(["options"])
    try:
        admin = pg.connect(base, autocommit=True)
    except psycopg.Error as err:
        raise SourceUnavailable(f"cannot reach the scratch server: {str(err).strip()}") from err
    try:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield base.set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    finally:
        admin.close()
