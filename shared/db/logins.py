"""What every database login shares, the node's and the functions': a credentials secret's
value read as a URL, and a refused login told apart from an unreachable database.

A secret holds a URL or an RDS-style JSON object (``username``, ``password``, ``host``,
``port``, ``dbname``, ``engine``) as RDS and the rotation functions keep it. An unusable one
is ``SecretUnreadable``, whose message quotes no value of the secret but an unsupported engine's
name (``url_from_fields``).

"Refused", looked for along the exception's chain (causes, contexts and the driver's error a
SQLAlchemy error wraps): SQLSTATE 28P01/28000, or, since psycopg carries no SQLSTATE for a
failed connection, a driver's ``OperationalError`` saying "authentication failed" or
'role "..." does not exist' (the user a stale secret names was dropped by a rotation). Only a
driver's error is read as text: any other exception may say anything.

SQLAlchemy is imported on first use: a function handler importing this pays nothing for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from shared.secret_versions import SecretUnreadable

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

REFUSED_SQLSTATES = frozenset({"28P01", "28000"})
_REFUSED_TEXT = re.compile(r"authentication failed|role \"[^\"]*\" does not exist")
_DRIVERS = ("psycopg", "sqlalchemy")
# An ``engine`` field a message may quote: a database product's name as RDS and Secrets
# Manager write it (``mysql``, ``aurora-mysql``, ``sqlserver-ex``, ``oracle-ee``), never a
# secret. Anything else (a value pasted into the wrong field) is not quoted.
_ENGINE_NAME = re.compile(
    r"^(aurora|db2|docdb|mariadb|mongo|mysql|oracle|postgres|redshift|sqlserver)[a-z0-9._-]{0,24}$"
)


def exception_chain(err: BaseException) -> Iterator[BaseException]:
    """``err``, its causes and contexts, and the driver errors SQLAlchemy errors wrap; once each."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        yield e
        orig = getattr(e, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's error
        todo.extend([e.__cause__, e.__context__, orig if isinstance(orig, BaseException) else None])


def _refuses_login(e: BaseException) -> bool:
    if getattr(e, "sqlstate", None) in REFUSED_SQLSTATES:
        return True
    return (
        type(e).__module__.startswith(_DRIVERS)
        and type(e).__name__ == "OperationalError"
        and _REFUSED_TEXT.search(str(e)) is not None
    )


def login_refused(err: BaseException) -> bool:
    """The database refused the login (as opposed to being unreachable)."""
    return any(_refuses_login(e) for e in exception_chain(err))


def secret_fields(value: str, source: str) -> dict[str, Any]:
    """The JSON object a secret's value holds; ``SecretUnreadable`` naming ``source`` (never
    quoting the value) when it holds none."""
    try:
        fields: Any = json.loads(value)
    except ValueError:
        fields = None
    if not isinstance(fields, dict):
        raise SecretUnreadable(f"{source} is not a JSON object")
    return fields


# libpq's sslmode values (https://www.postgresql.org/docs/current/libpq-ssl.html)
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def url_from_fields(fields: Mapping[str, Any], source: str) -> URL:
    """The URL an RDS-style object names; ``SecretUnreadable`` naming ``source`` and the fields
    at fault when it names none. Its message quotes no value but an unsupported ``engine``'s,
    and that only when it is a database product's name (``mysql``, ``oracle-ee``: one of the
    engines RDS names): never the username, password, host, port or database.

    An optional ``sslmode`` (libpq's) is kept in the URL; without it libpq decides:
    ``PGSSLMODE`` (the stack sets ``require`` for every process that connects), else
    ``prefer``."""
    from sqlalchemy.engine import URL

    missing = [k for k in ("username", "password", "host") if not fields.get(k)]
    if missing:
        raise SecretUnreadable(
            f"{source} lacks username, password or host (missing: {', '.join(missing)})"
        )
    engine = str(fields.get("engine", "postgres"))
    if engine not in ("postgres", "postgresql"):
        named = f"engine {engine!r}" if _ENGINE_NAME.fullmatch(engine) else "its engine"
        raise SecretUnreadable(f"{source}: {named} is not supported (postgres only)")
    try:
        port = int(fields.get("port") or 5432)
    except (TypeError, ValueError):
        raise SecretUnreadable(f"{source}: port is not a number") from None
    sslmode = fields.get("sslmode")
    if sslmode is not None and sslmode not in SSL_MODES:
        raise SecretUnreadable(f"{source}: sslmode must be one of {', '.join(SSL_MODES)}")
    return URL.create(
        "postgresql+psycopg",
        username=str(fields["username"]),
        password=str(fields["password"]),
        host=str(fields["host"]),
        port=port,
        database=str(fields.get("dbname") or fields.get("database") or "postgres"),
        query={"sslmode": sslmode} if sslmode else {},
    )


def url_from_secret(value: str, source: str) -> URL:
    """The URL a secret's value names (a URL, or an RDS-style JSON object); ``SecretUnreadable``
    naming ``source`` when it names none, quoting nothing of the value but an object's
    unsupported engine name (``url_from_fields``)."""
    from sqlalchemy.engine import make_url

    from shared.db.engine import normalize_url

    text = value.strip()
    if not text.startswith("{"):
        try:
            return make_url(normalize_url(text))
        except Exception:
            raise SecretUnreadable(f"{source} is not a database URL") from None
    try:
        fields = secret_fields(text, source)
    except SecretUnreadable:
        raise SecretUnreadable(f"{source} is neither a database URL nor a JSON object") from None
    return url_from_fields(fields, source)
