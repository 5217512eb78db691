"""Engines for the two supported databases, and schema migrations (Alembic).

SQLite is the embedded default: WAL mode and a busy timeout so that the node's writer thread
and the API's readers never see "database is locked". A durable engine (the trade journal's)
fsyncs at every commit on both databases. PostgreSQL goes through psycopg 3 with
connections checked before use, so a database that restarted or failed over is reconnected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class SchemaOutOfDate(Exception):
    """The database is not at the schema this code needs; run ``edge-node db migrate``."""


def normalize_url(url: str) -> str:
    """Map the URL forms operators use onto the drivers we ship (psycopg 3 for PostgreSQL)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def redact_url(url: str) -> str:
    """The URL with any password hidden, fit for logs and status output."""
    return make_url(normalize_url(url)).render_as_string(hide_password=True)


def create_engine(url: str, *, durable: bool = False, **kwargs: Any) -> Engine:
    """``durable``: every commit is on disk when it returns, even across a power loss (the
    trade journal's engine). Otherwise SQLite commits with ``synchronous=NORMAL`` in WAL mode:
    safe from corruption, but the last commits can be lost on a power failure (market data,
    which is re-read from the chain)."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine = sa_create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: the WAL is fsynced at every commit, not only at checkpoints.
            cur.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    connect_args = {"connect_timeout": 5, **kwargs.pop("connect_args", {})}
    if durable:
        # The server default, but a database or role may have turned it off: a commit then
        # returns before its WAL record is flushed. Forced on for this connection.
        # (Merged with any options the URL carries: connect_args would replace them.)
        given = connect_args.get("options") or parsed.query.get("options") or ""
        if isinstance(given, tuple):
            given = " ".join(given)
        connect_args["options"] = f"{given} -c synchronous_commit=on".strip()
    return sa_create_engine(
        url, pool_pre_ping=True, pool_size=4, max_overflow=4, connect_args=connect_args, **kwargs
    )


def _alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision``; returns (revision before, revision after)."""
    before = current_revision(engine)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return before, current_revision(engine) or ""


def downgrade(engine: Engine, revision: str) -> tuple[str | None, str | None]:
    """Take the schema back to ``revision`` ("base" for nothing); returns (before, after)."""
    before = current_revision(engine)
    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
    return before, current_revision(engine)


def ensure_schema(engine: Engine, auto_migrate: bool) -> None:
    """Refuse to run against a database whose schema is not the one this code expects."""
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    if auto_migrate:
        migrate(engine)
        return
    raise SchemaOutOfDate(
        f"database schema is at {current or 'nothing'}, this code needs {head}: "
        "run `edge-node db migrate --config <file>`"
    )
