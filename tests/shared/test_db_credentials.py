"""An engine whose credentials come from a rotating secret: new connections follow the
secret without a restart (a password-checking PostgreSQL, Secrets Manager in moto)."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy.exc
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from shared.db import credentials
from shared.db.credentials import RotatingLogin, attach
from shared.db.engine import create_engine, normalize_url
from shared.db.logins import login_refused, url_from_secret
from shared.secret_versions import CURRENT, PENDING, PREVIOUS
from tests.conftest import postgres_base_url
from tests.support.moto_secrets import moto_secretsmanager
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_secretsmanager(monkeypatch) as client:
        yield client


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


class CountingSecrets:
    """A Secrets Manager client holding one version per stage, counting every call; while
    ``failing``, every call fails as an unreachable Secrets Manager does."""

    def __init__(self, **stages: str) -> None:
        self.stages = dict(stages)  # stage -> value (the version id is derived from it)
        self.failing = False
        self.calls = 0

    def get_secret_value(self, SecretId: str, VersionStage: str) -> dict[str, Any]:
        self.calls += 1
        if self.failing:
            raise ConnectionError("could not connect to the endpoint URL")
        if VersionStage not in self.stages:
            err = Exception("no such stage")
            err.response = {"Error": {"Code": "ResourceNotFoundException"}}  # type: ignore[attr-defined]
            raise err
        value = self.stages[VersionStage]
        return {"VersionId": f"v-{uuid.uuid5(uuid.NAMESPACE_OID, value)}", "SecretString": value}


def machine_login(user: str) -> str:
    """A secret naming ``user`` on the machine's PostgreSQL (127.0.0.1:5432 or DATABASE_URL's),
    which trusts every login but refuses one as a role that does not exist."""
    url = make_url(normalize_url(postgres_base_url()))
    return json.dumps(
        {
            "host": url.host or "127.0.0.1",
            "port": url.port or 5432,
            "dbname": url.database or "postgres",
            "username": user,
            "password": secrets.token_hex(8),  # each value its own version
        }
    )


def test_a_failing_secrets_manager_is_asked_once_per_gap_not_per_connection() -> None:
    base_user = make_url(normalize_url(postgres_base_url())).username or "postgres"
    client = CountingSecrets(AWSCURRENT=machine_login(f"ghost_{uuid.uuid4().hex[:8]}"))
    now = [0.0]
    naps: list[float] = []
    login = RotatingLogin(client, "db", min_gap_s=30, clock=lambda: now[0], sleep=naps.append)
    engine = attach(create_engine(login.url().render_as_string(hide_password=False)), login)
    try:
        now[0] = 100.0  # the first read is long past
        client.failing, client.calls = True, 0
        for _ in range(8):  # the role does not exist: every login is refused
            with pytest.raises(sqlalchemy.exc.OperationalError) as caught:
                who(engine)
            assert login_refused(caught.value)
        assert client.calls == 1  # one read failed; the other attempts did not ask again
        assert naps == []  # nor waited for a read bound to fail
        # the gap over, Secrets Manager back with a login that works: read, and logged in
        now[0] += 30
        client.failing = False
        client.stages[CURRENT] = machine_login(base_user)
        assert who(engine) == base_user
        assert client.calls == 1 + 3 and login.refreshes == 1
    finally:
        engine.dispose()


def test_each_version_is_parsed_once_not_per_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    base_user = make_url(normalize_url(postgres_base_url())).username or "postgres"
    parsed: list[str] = []
    real = url_from_secret

    def counting(value: str, source: str) -> URL:
        parsed.append(json.loads(value)["username"])
        return real(value, source)

    monkeypatch.setattr(credentials, "url_from_secret", counting)
    client = CountingSecrets(
        AWSCURRENT=machine_login(f"ghost_{uuid.uuid4().hex[:8]}"),  # refused: the others tried
        AWSPENDING=machine_login(f"ghost_{uuid.uuid4().hex[:8]}"),
        AWSPREVIOUS=machine_login(base_user),
    )
    login = RotatingLogin(client, "db", min_gap_s=0)
    engine = attach(create_engine(login.url().render_as_string(hide_password=False)), login)
    try:
        for _ in range(5):
            engine.dispose()  # a new connection each time
            assert who(engine) == base_user
        assert len(parsed) == 3  # once per version
        login.refresh(time.monotonic())  # the same versions read again: nothing new to parse
        assert len(parsed) == 3 and login.refreshes == 1
        client.stages[PENDING], client.stages[PREVIOUS] = (
            client.stages[CURRENT],
            machine_login(f"ghost_{uuid.uuid4().hex[:8]}"),
        )
        client.stages[CURRENT] = machine_login(base_user)  # a rotation finished
        login.refresh(time.monotonic())
        assert len(parsed) == 5  # the two versions not seen before
        engine.dispose()
        assert who(engine) == base_user and len(parsed) == 5
    finally:
        engine.dispose()
