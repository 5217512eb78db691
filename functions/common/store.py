"""The store (SQLite or PostgreSQL) for a function or the CLI, through ``shared.db.engine``.

The URL comes from the settings (``EDGE_OPS_DATABASE_URL`` / ``DATABASE_URL``, or a ``--db``
option) or from a Secrets Manager secret (``EDGE_OPS_DATABASE_SECRET_ID``) holding either a URL
or an RDS-style JSON object (``username``, ``password``, ``host``, ``port``, ``dbname``), which
is what RDS and the rotation functions write. Work on the store goes through ``Store.run``: with
a secret, a refused login fetches the secret again and retries once (a rotation happened since
the value was cached); refused again, the secret's AWSPENDING version is tried (a rotation
is between its setSecret and finishSecret steps); the engine is rebuilt when the URL changes.
A table missing (SQLite's "no such table", PostgreSQL's UndefinedTable) is ``SchemaMissing``:
the store was never migrated, which no retry mends.

SQLAlchemy is imported on first use, not at handler import.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from functions.common.errors import BadInput, CredentialsRefused, SchemaMissing, Unavailable
from functions.common.secrets import SecretSource, is_auth_refusal, with_fresh_secret

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from functions.common.settings import OpsSettings

T = TypeVar("T")

_SCHEMES = ("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")
# How each database says a table is not there: SQLite's text, PostgreSQL's SQLSTATE (42P01,
# UndefinedTable) with the relation's name in its text.
_SQLITE_NO_TABLE = re.compile(r"no such table: (\S+)")
_PG_NO_TABLE = re.compile(r'relation "([^"]+)" does not exist')
UNDEFINED_TABLE = "42P01"


def check_store_url(url: str) -> str:
    """``url`` if it names a store we support, else ``BadInput`` (never quoting a password)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.startswith(_SCHEMES):
        raise BadInput(
            "the database URL must start with sqlite:/// or postgresql:// "
            f"(got {url.split(':', 1)[0]!r}...)"
        )
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise BadInput("the database URL is malformed") from None
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise BadInput("an SQLite URL needs a file: sqlite:///path/to/edge.db")
    return url


def url_from_secret(value: str, source: str = "the secret") -> str:
    """A store URL from a secret's value: a URL, or an RDS-style JSON object, read as the node
    reads it (``shared.db.logins``); ``BadInput`` when it names no store."""
    from shared.db.logins import url_from_secret as secret_url
    from shared.secret_versions import SecretUnreadable

    value = value.strip()
    if not value.startswith("{"):
        return check_store_url(value)  # its errors say which URLs are supported
    try:
        url = secret_url(value, source)
    except SecretUnreadable as err:
        raise BadInput(str(err)) from None
    return url.render_as_string(hide_password=False)


class Store:
    """One store: its engine, and the credentials behind it kept fresh."""

    def __init__(
        self,
        fetch_url: Callable[[bool], str],
        *,
        from_secret: bool,
        pending_url: Callable[[], str | None] | None = None,
    ) -> None:
        self._fetch_url = fetch_url
        self._from_secret = from_secret
        self._pending_url = pending_url
        self._engine: Engine | None = None
        self._url: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Store:
        url = check_store_url(url)
        return cls(lambda _force: url, from_secret=False)

    @classmethod
    def from_secret(cls, secrets: SecretSource, secret_id: str) -> Store:
        def fetch(force: bool) -> str:
            return url_from_secret(secrets.get(secret_id, force=force), f"secret {secret_id!r}")

        def pending() -> str | None:
            value = secrets.get_pending(secret_id)
            return None if value is None else url_from_secret(value, f"secret {secret_id!r}")

        return cls(fetch, from_secret=True, pending_url=pending)

    @classmethod
    def from_settings(cls, settings: OpsSettings, secrets: SecretSource | None) -> Store:
        if settings.database_url is not None:
            return cls.from_url(settings.database_url.get_secret_value())
        if settings.database_secret_id is not None:
            if secrets is None:
                raise BadInput("EDGE_OPS_DATABASE_SECRET_ID is set but no secret source given")
            return cls.from_secret(secrets, settings.database_secret_id)
        raise BadInput(
            "no database: set EDGE_OPS_DATABASE_URL (or DATABASE_URL) or "
            "EDGE_OPS_DATABASE_SECRET_ID, or pass --db"
        )

    def engine(self, *, force: bool = False) -> Engine:
        return self._engine_for(self._fetch_url(force))

    def _engine_for(self, url: str) -> Engine:
        if self._engine is None or url != self._url:
            from shared.db.engine import create_engine

            self.dispose()
            self._engine, self._url = create_engine(url), url
        return self._engine

    def run(self, work: Callable[[Engine], T]) -> T:
        """``work(engine)``; a refused login is retried once with the secret fetched anew.

        Raises ``CredentialsRefused`` when the credentials stay refused, ``SchemaMissing`` when
        a table is not there, ``Unavailable`` when the database cannot be reached or drops the
        connection."""
        from sqlalchemy.exc import InterfaceError, OperationalError, ProgrammingError

        try:
            if self._from_secret:
                try:
                    return with_fresh_secret(
                        self._fetch_url,
                        lambda url: work(self._engine_for(url)),
                        what="the database credentials",
                    )
                except CredentialsRefused:
                    # A rotation between its setSecret and finishSecret steps: the database
                    # has the pending credential already.
                    pending = self._pending_url() if self._pending_url else None
                    if pending is None or pending == self._url:
                        raise
                    return work(self._engine_for(pending))
            try:
                return work(self._engine_for(self._fetch_url(False)))
            except Exception as err:
                if is_auth_refusal(err):
                    raise CredentialsRefused(
                        "the database refused the credentials in its URL"
                    ) from err
                raise
        except (OperationalError, InterfaceError, ProgrammingError) as err:
            table = missing_table(err)
            if table is not None:
                named = f" (no table {table!r})" if table else ""
                raise SchemaMissing(
                    f"the store's schema is missing or out of date{named}: create it with "
                    "`edge-node db migrate --config FILE` (or `--url URL`), then run again"
                ) from err
            if isinstance(err, ProgrammingError):
                raise
            raise Unavailable(f"the database is unavailable: {_first_line(err)}") from err

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        self._engine = None
        self._url = None


def missing_table(err: BaseException) -> str | None:
    """The table a database error says is not there ("" if it names none), or None for any
    other error."""
    orig = getattr(err, "orig", None) or err
    if getattr(orig, "sqlstate", None) == UNDEFINED_TABLE:
        found = _PG_NO_TABLE.search(str(orig))
        return found.group(1) if found else ""
    if type(orig).__module__ == "sqlite3":
        found = _SQLITE_NO_TABLE.search(str(orig))
        return found.group(1) if found else None
    return None


def _first_line(err: BaseException) -> str:
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__
