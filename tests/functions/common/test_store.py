from __future__ import annotations

import socket
import sqlite3

import pytest
import sqlalchemy.exc
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from functions.common.aws import AwsClients
from functions.common.errors import BadInput, CredentialsRefused, SchemaMissing, Unavailable
from functions.common.secrets import SecretSource
from functions.common.settings import OpsSettings
from functions.common.store import Store, check_store_url, missing_table, url_from_secret
from tests.functions.common.fake_pg import refusing_postgres


def _select_one(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select 1")).scalar_one())


def test_sqlite_store_from_a_url(sqlite_url: str) -> None:
    store = Store.from_url(sqlite_url)
    assert store.run(_select_one) == 1
    assert store.engine() is store.engine()
    store.dispose()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("mysql://u:p@h/db", "must start with sqlite:/// or postgresql://"),
        ("/tmp/edge.db", "must start with"),
        ("sqlite://", "needs a file"),
        ("postgresql://u:p@h:notaport/db", "malformed"),
    ],
)
def test_bad_store_urls(url: str, why: str) -> None:
    with pytest.raises(BadInput, match=why):
        check_store_url(url)


def test_bad_store_url_never_echoes_the_password() -> None:
    with pytest.raises(BadInput) as err:
        check_store_url("mysql://edge:s3cret-pw@h/db")
    assert "s3cret" not in str(err.value)


def test_rds_style_secret_becomes_a_url_with_the_password_escaped() -> None:
    url = url_from_secret(
        '{"engine": "postgres", "username": "edge", "password": "p@ss:w/rd%", '
        '"host": "db.example", "port": 6432, "dbname": "edge"}'
    )
    parsed = make_url(url)
    assert (parsed.username, parsed.password, parsed.host, parsed.port, parsed.database) == (
        "edge",
        "p@ss:w/rd%",
        "db.example",
        6432,
        "edge",
    )
    assert url_from_secret("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(BadInput, match=r"lacks username, password or host \(missing: password\)"):
        url_from_secret('{"username": "edge", "host": "h"}')
    with pytest.raises(BadInput, match="engine 'mysql'"):
        url_from_secret('{"engine": "mysql", "username": "u", "password": "p", "host": "h"}')
    with pytest.raises(BadInput, match="neither a database URL nor a JSON object"):
        url_from_secret("{not json")


def test_from_settings_needs_a_database(monkeypatch: pytest.MonkeyPatch, sqlite_url: str) -> None:
    with pytest.raises(BadInput, match="no database"):
        Store.from_settings(OpsSettings(database_url=None), None)
    store = Store.from_settings(OpsSettings(database_url=sqlite_url), None)
    assert store.run(_select_one) == 1


@pytest.mark.postgres
def test_a_rotated_database_secret_is_fetched_again_and_the_work_retried(
    aws: AwsClients, pg_url: str
) -> None:
    """The cached secret names a user a rotation dropped: the login is refused, the secret is
    read again bypassing the cache, and the work runs with the new credentials."""
    stale = make_url(pg_url).set(username="edge_rotated_away", password="old")
    aws.secretsmanager.create_secret(
        Name="edge/db", SecretString=stale.render_as_string(hide_password=False)
    )
    secrets = SecretSource(aws.secretsmanager, max_age_s=300)
    store = Store.from_secret(secrets, "edge/db")
    assert "edge_rotated_away" in secrets.get("edge/db")  # cached now
    aws.secretsmanager.put_secret_value(SecretId="edge/db", SecretString=pg_url)
    runs: list[str] = []

    def work(engine: Engine) -> int:
        runs.append(str(engine.url.username))
        return _select_one(engine)

    assert store.run(work) == 1
    assert runs == ["edge_rotated_away", make_url(pg_url).username]
    assert store.run(work) == 1  # the fresh value is cached now: no refusal, no refetch
    assert len(runs) == 3
    store.dispose()


def test_a_password_refused_twice_is_credentials_refused(aws: AwsClients) -> None:
    with refusing_postgres() as port:
        aws.secretsmanager.create_secret(
            Name="edge/db", SecretString=f"postgresql://edge:wrong@127.0.0.1:{port}/edge"
        )
        store = Store.from_secret(SecretSource(aws.secretsmanager), "edge/db")
        with pytest.raises(CredentialsRefused, match="refused again"):
            store.run(_select_one)
        direct = Store.from_url(f"postgresql://edge:wrong@127.0.0.1:{port}/edge")
        with pytest.raises(CredentialsRefused, match="credentials in its URL"):
            direct.run(_select_one)
        store.dispose()
        direct.dispose()


def test_an_unreachable_database_is_unavailable() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = Store.from_url(f"postgresql://edge:Zq9-unique-pw@127.0.0.1:{port}/edge")
    with pytest.raises(Unavailable, match="the database is unavailable") as err:
        store.run(_select_one)
    assert "Zq9-unique-pw" not in str(err.value)
    store.dispose()


@pytest.mark.postgres
def test_during_a_rotation_the_pending_credentials_are_tried(aws: AwsClients, pg_url: str) -> None:
    """Between setSecret and finishSecret the database has the new user, AWSCURRENT still
    names the old one: the pending version is used, and never cached as the current one."""
    stale = make_url(pg_url).set(username="edge_old_user").render_as_string(hide_password=False)
    aws.secretsmanager.create_secret(Name="edge/db", SecretString=stale)
    aws.secretsmanager.put_secret_value(
        SecretId="edge/db", SecretString=pg_url, VersionStages=["AWSPENDING"]
    )
    secrets = SecretSource(aws.secretsmanager)
    store = Store.from_secret(secrets, "edge/db")
    users: list[str | None] = []

    def work(engine: Engine) -> int:
        users.append(engine.url.username)
        return _select_one(engine)

    assert store.run(work) == 1
    # current (cached), current (fetched again), then pending
    assert users == ["edge_old_user", "edge_old_user", make_url(pg_url).username]
    assert "edge_old_user" in secrets.get("edge/db")  # AWSCURRENT is still the old value
    store.dispose()


def test_without_a_pending_version_a_double_refusal_stands(aws: AwsClients) -> None:
    aws.secretsmanager.create_secret(Name="edge/db", SecretString="sqlite:///x.db")
    secrets = SecretSource(aws.secretsmanager)
    assert secrets.get_pending("edge/db") is None
    assert secrets.get_pending("edge/missing") is None


def _count_trades(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("select count(*) from trades")).scalar_one())


def test_a_store_without_its_schema_says_to_migrate(db_url: str) -> None:
    store = Store.from_url(db_url)
    try:
        with pytest.raises(SchemaMissing) as err:
            store.run(_count_trades)
    finally:
        store.dispose()
    assert isinstance(err.value, BadInput) and err.value.exit_code == 2
    assert "no table 'trades'" in str(err.value)
    assert "edge-node db migrate" in str(err.value)


def test_other_sql_errors_are_not_a_missing_schema(pg_url: str) -> None:
    def bad_sql(engine: Engine) -> None:
        with engine.connect() as conn:
            conn.execute(text("select frm nowhere"))

    store = Store.from_url(pg_url)
    try:
        with pytest.raises(sqlalchemy.exc.ProgrammingError):
            store.run(bad_sql)
    finally:
        store.dispose()


class _PgError(Exception):
    def __init__(self, sqlstate: str, text: str) -> None:
        super().__init__(text)
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("err", "table"),
    [
        (_PgError("42P01", 'relation "trades" does not exist'), "trades"),
        (_PgError("42P01", "something else"), ""),
        (_PgError("42703", 'column "x" does not exist'), None),
        (sqlite3.OperationalError("no such table: main.candles"), "main.candles"),
        (sqlite3.OperationalError("no such column: x"), None),
        (sqlite3.OperationalError("database is locked"), None),
        (ValueError("no such table: trades"), None),
    ],
)
def test_which_errors_name_a_missing_table(err: Exception, table: str | None) -> None:
    assert missing_table(err) == table
    wrapped = sqlalchemy.exc.OperationalError("select 1", {}, err)
    assert missing_table(wrapped) == table
