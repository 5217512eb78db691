"""The rotation reads a database secret as the node does (``shared.db.logins``): one parser,
so a secret the node can use is one the rotation can rotate, and the other way round."""

from __future__ import annotations

import json

import pytest

from functions.common.errors import BadInput
from functions.rotation.db_login import DbLogin
from shared.db.logins import url_from_secret
from shared.secret_versions import SecretUnreadable

PASSWORD = "pw-Quasar-7731"
BASE = {"engine": "postgres", "host": "db.example", "username": "edge", "password": PASSWORD}


@pytest.mark.parametrize(
    "fields",
    [
        BASE,
        {**BASE, "port": 6432, "dbname": "edge"},
        {**BASE, "port": "6432", "database": "edge"},  # the node reads "database" too
        {**BASE, "engine": "postgresql"},
        {k: v for k, v in BASE.items() if k != "engine"},
        {**BASE, "sslmode": "require"},  # as the stack writes it: the rotation keeps TLS too
    ],
)
def test_a_secret_names_the_login_the_node_logs_in_with(fields: dict[str, object]) -> None:
    node = url_from_secret(json.dumps(fields), "s")
    for value in (json.dumps(fields), dict(fields)):
        login = DbLogin.parse(value, "s")
        assert (
            login.host,
            login.port,
            login.dbname,
            login.username,
            login.password,
            login.sslmode,
        ) == (
            node.host,
            node.port,
            node.database,
            node.username,
            node.password,
            node.query.get("sslmode"),
        )


@pytest.mark.parametrize(
    "fields",
    [
        {**BASE, "engine": "mysql"},  # the node refuses it: so does the rotation
        {**BASE, "port": "54x"},
        {k: v for k, v in BASE.items() if k != "host"},
        {k: v for k, v in BASE.items() if k != "password"},
        {**BASE, "username": ""},
    ],
)
def test_a_secret_the_node_refuses_is_bad_input_with_the_same_reason(
    fields: dict[str, object],
) -> None:
    with pytest.raises(SecretUnreadable) as node:
        url_from_secret(json.dumps(fields), "the secret")
    with pytest.raises(BadInput) as rotation:
        DbLogin.parse(json.dumps(fields), "the secret")
    assert str(rotation.value) == str(node.value)
    assert PASSWORD not in f"{rotation.value} {rotation.value!r}"


def test_a_secret_that_is_no_json_object_is_bad_input() -> None:
    for value in ("{not json " + PASSWORD, json.dumps([PASSWORD])):
        with pytest.raises(BadInput, match="the secret is not a JSON object") as err:
            DbLogin.parse(value, "the secret")
        assert PASSWORD not in f"{err.value} {err.value!r}"
    assert PASSWORD not in repr(DbLogin.parse(json.dumps(BASE), "s"))


@pytest.mark.postgres
def test_the_rotation_connects_with_pgsslmode_unless_the_secret_names_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The stack sets PGSSLMODE=require for the rotation (the secret's text is the rotation's):
    a login from a secret without sslmode must leave libpq to it. The machine's PostgreSQL
    speaks no TLS, so require refuses it: proof the variable applied."""
    from sqlalchemy.engine import make_url

    from functions.common.errors import Unavailable
    from functions.rotation.database import DatabaseRotator
    from shared.db.engine import normalize_url
    from tests.conftest import postgres_base_url

    url = make_url(normalize_url(postgres_base_url()))
    fields = {
        "host": url.host or "127.0.0.1",
        "port": url.port or 5432,
        "username": url.username or "postgres",
        "password": url.password or "unused",
        "dbname": url.database or "postgres",
    }
    rotator = DatabaseRotator(lambda _: "{}")
    with rotator.connect(DbLogin.parse(dict(fields), "s")) as conn:
        tls = conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").fetchone()
    if tls == (True,):
        pytest.skip("this PostgreSQL speaks TLS: require cannot be told from prefer here")
    monkeypatch.setenv("PGSSLMODE", "require")
    with pytest.raises(Unavailable, match="SSL"), rotator.connect(DbLogin.parse(fields, "s")):
        pass
    own = DbLogin.parse({**fields, "sslmode": "disable"}, "s")  # the secret's own wins
    with rotator.connect(own) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
