"""A credentials secret's value read as a URL, and what counts as a refused login: one reading
for the node and the functions."""

from __future__ import annotations

import re

import psycopg
import pytest
import sqlalchemy.exc

from shared.db.logins import login_refused, url_from_secret
from shared.secret_versions import SecretUnreadable
from tests.support.leaks import everything_shown


def test_secret_values() -> None:
    url = url_from_secret('{"username": "u", "password": "p@ss/word", "host": "h"}', "s")
    assert (url.username, url.password, url.host, url.port) == ("u", "p@ss/word", "h", 5432)
    assert url.drivername == "postgresql+psycopg"
    assert url_from_secret("postgresql://a:b@h:1/d", "s").drivername == "postgresql+psycopg"
    full = url_from_secret(
        '{"engine": "postgres", "username": "u", "password": "p", "host": "h", "port": 6432, '
        '"dbname": "edge"}',
        "s",
    )
    assert (full.port, full.database) == (6432, "edge")
    assert full.query == {}  # libpq's default sslmode
    tls = url_from_secret(
        '{"username": "u", "password": "p", "host": "h", "sslmode": "require"}', "s"
    )
    assert tls.query == {"sslmode": "require"}
    assert "sslmode=require" in tls.render_as_string(hide_password=True)


# A password with a character that splits it in a URL: a message quoting either part leaks it.
PASSWORD = "Tr0ub4dor/x9Qz+Wm7K"
FRAGMENTS = [part for part in re.split(r"[^A-Za-z0-9]", PASSWORD) if len(part) >= 4]
WITH_PASSWORD = f'"username": "u", "password": "{PASSWORD}"'


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("{" + WITH_PASSWORD + "}", r"s lacks username, password or host \(missing: host\)"),
        (f'{{"password": "{PASSWORD}"}}', r"\(missing: username, host\)"),
        (f'{{"username": "", "password": "{PASSWORD}", "host": "h"}}', r"\(missing: username\)"),
        ("{" + WITH_PASSWORD + ', "host": "h",', "s is neither a database URL nor a JSON object"),
        ("{" + WITH_PASSWORD + ', "host": "h", "engine": "mysql"}', "engine 'mysql'"),
        # an engine that is no engine's name (a value in the wrong field) is not quoted
        ("{" + WITH_PASSWORD + f', "host": "h", "engine": "{PASSWORD}"}}', "s: its engine is not"),
        ("{" + WITH_PASSWORD + ', "host": "h", "engine": "aurora-mysql"}', "'aurora-mysql' is not"),
        ("{" + WITH_PASSWORD + ', "host": "h", "port": "54x"}', "s: port is not a number"),
        ("{" + WITH_PASSWORD + ', "host": "h", "sslmode": "always"}', "s: sslmode must be one"),
        (f"not a url, but {PASSWORD}", "s is not a database URL"),
        (f"postgresql://u:{PASSWORD}@h:54x/d", "s is not a database URL"),
    ],
)
def test_unusable_secret_values(value: str, why: str) -> None:
    assert all(fragment in value for fragment in FRAGMENTS)
    with pytest.raises(SecretUnreadable, match=why) as err:
        url_from_secret(value, "s")
    shown = everything_shown(err.value)
    for fragment in FRAGMENTS:
        assert fragment not in shown


def test_an_engine_field_holding_no_engine_name_is_never_quoted() -> None:
    for engine in ("hunter2secret", "p" * 40, "MySQL Tr0ub4dor"):
        with pytest.raises(SecretUnreadable, match=r"^s: its engine is not supported") as err:
            url_from_secret(
                f'{{"username": "u", "password": "p", "host": "h", "engine": "{engine}"}}', "s"
            )
        assert engine not in everything_shown(err.value)


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as e:
            raise sqlalchemy.exc.OperationalError("select 1", {}, e) from e
    except sqlalchemy.exc.OperationalError as outer:
        return outer


class _WithSqlstate(Exception):
    sqlstate = "28P01"


@pytest.mark.parametrize(
    ("err", "refused"),
    [
        (_WithSqlstate(), True),
        (psycopg.OperationalError('FATAL:  password authentication failed for user "u"'), True),
        (psycopg.OperationalError('FATAL:  role "edge_a" does not exist'), True),
        (psycopg.OperationalError("connection refused"), False),
        (_wrapped(psycopg.OperationalError("password authentication failed")), True),
        (_wrapped(psycopg.OperationalError("server closed the connection")), False),
        (ValueError("authentication failed"), False),  # only a driver's error is read as text
    ],
)
def test_what_counts_as_a_refused_login(err: BaseException, refused: bool) -> None:
    assert login_refused(err) is refused
