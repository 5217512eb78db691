"""Which PostgreSQL errors the rotation names for an operator, and which stay bugs (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest
from psycopg import errors as pg

from functions.common.errors import OpsError, Unavailable
from functions.rotation.pg_errors import (
    AdminLacksRights,
    DatabaseReadOnly,
    Work,
    connect_denied,
    database_missing,
    login_not_permitted,
    named,
    reason,
)

AS_ADMIN = Work("db.example:5432", "create or alter the role app_clone", "dba", "edge/db-admin")
AS_APP = Work("db.example:5432", "log in as app_clone")


@dataclass
class Diag:
    message_primary: str | None
    message_detail: str | None = None


class ServerError(Exception):
    """What the driver raises with the server's answer: a SQLSTATE and its diagnostics."""

    def __init__(self, sqlstate: str | None, primary: str, detail: str | None = None) -> None:
        super().__init__(f"{primary}\nLINE 1: ALTER ROLE x PASSWORD 'hunter2'")
        self.sqlstate = sqlstate
        self.diag = Diag(primary, detail)


def test_insufficient_privilege_of_the_administrator_says_what_to_grant() -> None:
    err = ServerError(
        "42501",
        "permission denied to alter role",
        'Only roles with the CREATEROLE attribute and the ADMIN option on role "app_clone" '
        "may alter this role.",
    )
    found = named(err, AS_ADMIN, operational=False)
    assert isinstance(found, AdminLacksRights) and found.kind == "admin_lacks_rights"
    text = str(found)
    assert text.startswith(
        "the administrator dba (secret 'edge/db-admin', the database secret's masterarn) may "
        "not create or alter the role app_clone at db.example:5432: permission denied to alter "
        'role Only roles with the CREATEROLE attribute and the ADMIN option on role "app_clone"'
    )
    assert "ALTER ROLE dba CREATEROLE" in text and "RDS master" in text
    assert "hunter2" not in text and "LINE 1" not in text  # never the statement


def test_read_only_and_interrupted_work_are_named_whoever_was_logged_in() -> None:
    read_only = ServerError("25006", "cannot execute CREATE ROLE in a read-only transaction")
    for work in (AS_ADMIN, AS_APP):
        found = named(read_only, work, operational=False)
        assert isinstance(found, DatabaseReadOnly) and "the primary" in str(found)
    for state in ("57P01", "57014", "55P03", "40001", "40P01", "53300", "08006", "42710"):
        found = named(ServerError(state, "it stopped"), AS_ADMIN, operational=False)
        assert type(found) is Unavailable, state
        assert "run the rotation again, it resumes" in str(found)
    lost = ServerError(None, "server closed the connection unexpectedly")
    assert type(named(lost, AS_APP, operational=True)) is Unavailable


@pytest.mark.parametrize(
    ("err", "work"),
    [
        (ServerError("42601", 'syntax error at or near "PASSWORD"'), AS_ADMIN),
        (ServerError("42704", 'role "x" does not exist'), AS_ADMIN),
        (ServerError("22023", "invalid parameter"), AS_ADMIN),
        (ServerError("XX000", "cache lookup failed"), AS_ADMIN),
        (ServerError("42501", "permission denied for table t"), AS_APP),  # not the admin's
        (ServerError(None, "no SQLSTATE, not operational"), AS_ADMIN),
    ],
)
def test_what_an_operator_cannot_act_on_stays_a_bug(err: Exception, work: Work) -> None:
    assert named(err, work, operational=False) is None


def test_the_driver_classes_map_as_their_sqlstates_say() -> None:
    assert isinstance(named(pg.InsufficientPrivilege(), AS_ADMIN, operational=False), OpsError)
    assert named(pg.SyntaxError(), AS_ADMIN, operational=False) is None
    shutdown = pg.AdminShutdown()
    assert isinstance(shutdown, psycopg.OperationalError)
    assert type(named(shutdown, AS_ADMIN, operational=True)) is Unavailable
    assert reason(pg.AdminShutdown()) == "AdminShutdown"  # no diagnostics: the class


def test_a_database_denied_to_a_login_is_read_from_the_driver_message() -> None:
    denied = psycopg.OperationalError(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
        'permission denied for database "edge"\nDETAIL:  User does not have CONNECT privilege.'
    )
    assert connect_denied(denied)
    assert not connect_denied(psycopg.OperationalError("connection refused"))


def test_logins_no_retry_mends_are_read_from_the_driver_message() -> None:
    failed = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  '
    no_db = psycopg.OperationalError(failed + 'database "edge" does not exist')
    no_login = psycopg.OperationalError(failed + 'role "dba" is not permitted to log in')
    wrong = psycopg.OperationalError(failed + 'password authentication failed for user "dba"')
    down = psycopg.OperationalError(failed + "Connection refused")
    assert database_missing(no_db) and database_missing(pg.InvalidCatalogName())  # 3D000
    assert login_not_permitted(no_login)
    for other in (wrong, down, no_login):
        assert not database_missing(other)
    for other in (wrong, down, no_db):
        assert not login_not_permitted(other)
