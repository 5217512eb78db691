"""An engine whose credentials come from a rotating secret: new connections follow the
secret without a restart (a password-checking PostgreSQL, Secrets Manager in moto)."""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import sqlalchemy.exc
from moto import mock_aws
from psycopg import sql
from sqlalchemy import text

from shared.db.credentials import RotatingLogin, attach
from shared.db.engine import create_engine
from shared.db.logins import login_refused
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for k, v in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t")):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")


@pytest.fixture
def role(scram_pg: ScramPostgres) -> Iterator[tuple[str, str]]:
    import psycopg

    user, password = f"cred_{uuid.uuid4().hex[:8]}", secrets.token_hex(8)
    with psycopg.connect(scram_pg.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
    yield user, password
    with psycopg.connect(scram_pg.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(user)))


def set_password(server: ScramPostgres, user: str, password: str) -> None:
    import psycopg

    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(user), sql.Literal(password))
        )


def who(engine: Any) -> str:
    with engine.connect() as conn:
        return str(conn.execute(text("SELECT session_user")).scalar_one())


def test_new_connections_follow_the_secret(
    sm: Any, scram_pg: ScramPostgres, role: tuple[str, str]
) -> None:
    user, password = role
    sm.create_secret(Name="db", SecretString=json.dumps(scram_pg.login(user, password)))
    naps: list[float] = []
    login = RotatingLogin(sm, "db", min_gap_s=0.5, sleep=naps.append)
    engine = attach(create_engine(login.url().render_as_string(hide_password=False)), login)
    try:
        assert who(engine) == user
        # rotated behind the node's back: new password in the database and in the secret
        new = secrets.token_hex(8)
        set_password(scram_pg, user, new)
        sm.put_secret_value(SecretId="db", SecretString=json.dumps(scram_pg.login(user, new)))
        engine.dispose()  # open connections would survive; new ones must log in again
        assert who(engine) == user
        assert login.refreshes == 1
        # wrong everywhere: refused after one more read (gated: it waited out the gap)
        set_password(scram_pg, user, secrets.token_hex(8))
        engine.dispose()
        with pytest.raises(sqlalchemy.exc.OperationalError) as caught:
            who(engine)
        assert login_refused(caught.value)
        assert login.refreshes == 2 and naps and 0 < naps[-1] <= 0.5
    finally:
        engine.dispose()


def test_the_pending_version_is_tried_between_set_and_finish(
    sm: Any, scram_pg: ScramPostgres, role: tuple[str, str]
) -> None:
    user, password = role
    sm.create_secret(Name="db", SecretString=json.dumps(scram_pg.login(user, password)))
    new = secrets.token_hex(8)
    sm.put_secret_value(
        SecretId="db",
        SecretString=json.dumps(scram_pg.login(user, new)),
        VersionStages=["AWSPENDING"],
    )
    login = RotatingLogin(sm, "db")
    engine = attach(create_engine(login.url().render_as_string(hide_password=False)), login)
    try:
        set_password(scram_pg, user, new)  # setSecret ran; finishSecret not yet
        assert who(engine) == user
        assert login.refreshes == 0  # no read needed: the pending version was known
    finally:
        engine.dispose()


def test_concurrent_refusals_share_one_read(
    sm: Any, scram_pg: ScramPostgres, role: tuple[str, str]
) -> None:
    user, password = role
    sm.create_secret(Name="db", SecretString=json.dumps(scram_pg.login(user, password)))
    login = RotatingLogin(sm, "db", min_gap_s=0)
    engine = attach(create_engine(login.url().render_as_string(hide_password=False)), login)
    new = secrets.token_hex(8)
    set_password(scram_pg, user, new)
    sm.put_secret_value(SecretId="db", SecretString=json.dumps(scram_pg.login(user, new)))
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(who(engine))) for _ in range(6)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [user] * 6
        assert login.refreshes == 1
    finally:
        engine.dispose()
