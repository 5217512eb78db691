"""PostgreSQL's errors that the database rotation meets in normal operation, as the errors an
operator acts on (pure: reads a driver error's SQLSTATE and messages; no I/O, no driver
import).

- 42501 (insufficient privilege) on the administrator's statements: ``AdminLacksRights``, the
  administrator may log in but not create or alter the application's roles (an RDS master
  user has the rights; a plain user, or one without CREATEROLE, has not);
- 25006 (read-only transaction): ``DatabaseReadOnly``, the secret names a replica or standby,
  or the administrator's sessions are read-only;
- the server ending or refusing the work part way (the driver's ``OperationalError``: a lost
  connection, a restart or ``pg_terminate_backend``, a cancelled statement, a lock or
  resource limit, a serialization failure or deadlock) and 42710 (a role created by a
  concurrent step between our look and our ``CREATE ROLE``): ``Unavailable``, run it again;
  every step resumes.

A connection refused for a cause no retry mends (``database_missing``,
``login_not_permitted``; the driver gives no SQLSTATE then, so its message is read) is told
apart from an outage, for ``database.DatabaseRotator.connect`` to name.

Anything else (a syntax error, an undefined object) is a bug and stays the driver's error.
A message quotes the server's primary message and detail, never the statement (which may
carry a password).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.common.errors import OpsError, Unavailable

INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"
DUPLICATE_OBJECT = "42710"
# the SQLSTATE classes psycopg raises as OperationalError: connection exception,
# transaction rollback, insufficient resources, object not in prerequisite state (lock not
# available), operator intervention (cancel, shutdown), system error
_TRANSIENT_CLASSES = ("08", "40", "53", "55", "57", "58")
_NO_CONNECT_TEXT = "permission denied for database"
# a failed connection's messages (no SQLSTATE: 3D000 and 28000 on the server)
_NO_DATABASE_TEXT = re.compile(r'database "[^"]*" does not exist')
_NO_LOGIN_TEXT = re.compile(r'role "[^"]*" is not permitted to log in')


class AdminLacksRights(OpsError):
    """The administrator (the secret the database secret's ``masterarn`` names) logged in but
    may not create or alter the application's roles: give it CREATEROLE (from PostgreSQL 16
    also the ADMIN option on those roles) or store the RDS master user's credentials in that
    secret, then run the rotation again. Nothing was changed: the pending version stays
    pending."""

    kind = "admin_lacks_rights"


class DatabaseReadOnly(OpsError):
    """The database took the administrator's statements read-only (a read replica or a
    standby, or ``default_transaction_read_only``): the database secret's host must be the
    primary (the writer endpoint). Nothing was changed: the pending version stays pending."""

    kind = "database_read_only"


@dataclass(frozen=True, slots=True)
class Work:
    """What the rotation was doing when the database answered with an error (for messages)."""

    server: str  # host:port
    doing: str  # "set the password of role app_clone"
    admin_user: str | None = None  # the administrator's login, if it was the one acting
    admin_secret: str | None = None  # the masterarn its credentials came from


def reason(err: BaseException) -> str:
    """The server's primary message and detail, one line; never the statement."""
    diag = getattr(err, "diag", None)
    parts = [getattr(diag, "message_primary", None), getattr(diag, "message_detail", None)]
    text = " ".join(str(p).strip() for p in parts if p) or type(err).__name__
    return " ".join(text.split())


def _sqlstate(err: BaseException) -> str | None:
    state = getattr(err, "sqlstate", None)
    return state if isinstance(state, str) else None


def named(err: BaseException, work: Work, *, operational: bool) -> OpsError | None:
    """The error an operator acts on for the driver's ``err`` (``operational``: it is the
    driver's ``OperationalError``), or None for a bug."""
    state = _sqlstate(err)
    if state == INSUFFICIENT_PRIVILEGE and work.admin_user is not None:
        return lacks_rights(work, reason(err))
    if state == READ_ONLY_TRANSACTION:
        return DatabaseReadOnly(
            f"the database at {work.server} is read-only ({reason(err)}) and the rotation "
            f"could not {work.doing}: the database secret's host must be the primary (the "
            "writer endpoint), and the administrator's sessions not read-only; then run the "
            "rotation again; nothing was changed"
        )
    if state == DUPLICATE_OBJECT:
        return Unavailable(
            f"the database at {work.server} answered {reason(err)!r} when the rotation tried "
            f"to {work.doing} (another step at the same time?): run the rotation again, it "
            "resumes"
        )
    if operational or (state is not None and state[:2] in _TRANSIENT_CLASSES):
        return Unavailable(
            f"the database at {work.server} ended the work part way when the rotation tried "
            f"to {work.doing} ({reason(err)}): run the rotation again, it resumes"
        )
    return None


def lacks_rights(work: Work, why: str, advice: str | None = None) -> AdminLacksRights:
    """``AdminLacksRights`` for ``work``; ``advice`` what to grant (default: CREATEROLE)."""
    admin = work.admin_user or "the administrator"
    grant = advice or (
        f"Give it CREATEROLE (ALTER ROLE {admin} CREATEROLE, run by a superuser or the RDS "
        "master user; from PostgreSQL 16 also the ADMIN option on the application's roles)"
    )
    return AdminLacksRights(
        f"the administrator {admin} (secret {work.admin_secret!r}, the database secret's "
        f"masterarn) may not {work.doing} at {work.server}: {why}. {grant} or store the RDS "
        "master user's credentials in that secret, then run the rotation again; nothing was "
        "changed"
    )


def connect_denied(err: BaseException) -> bool:
    """A login accepted but refused the database (no CONNECT privilege): the driver's message,
    since a failed connection carries no SQLSTATE."""
    return _NO_CONNECT_TEXT in str(err)


def database_missing(err: BaseException) -> bool:
    """A login refused because the database it names does not exist (3D000): the secret's
    ``dbname`` is wrong, which no retry mends."""
    return _sqlstate(err) == "3D000" or _NO_DATABASE_TEXT.search(str(err)) is not None


def login_not_permitted(err: BaseException) -> bool:
    """A login refused because its role has no LOGIN attribute (28000, 'role "x" is not
    permitted to log in'): the role must be given LOGIN, which no retry mends."""
    return _NO_LOGIN_TEXT.search(str(err)) is not None
