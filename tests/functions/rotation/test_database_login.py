"""The rotation reads a database secret as the node does (``shared.db.logins``): one parser,
so a secret the node can use is one the rotation can rotate, and the other way round."""

from __future__ import annotations

import json

import pytest

from functions.common.errors import BadInput
from functions.rotation.database import DbLogin
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
            node.query.get("sslmode", "prefer"),
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
