"""A fresh stack's database: the application's secret names a role that does not exist yet,
and the first rotation creates it (then its clone), logged in as the RDS-like administrator
the secret's ``masterarn`` names, against a PostgreSQL that checks passwords."""

from __future__ import annotations

import json
import secrets
from typing import Any

import psycopg
import pytest
from psycopg import sql

from functions.common.aws import AwsClients
from functions.rotation.db_login import alternate
from functions.rotation.staging import RotationRefused, Step
from tests.functions.rotation.pg_roles import (
    ADMIN_SECRET,
    APP_SECRET,
    FreshDatabase,
    admin,
    fresh_database,
    login_at,
    store_fresh_secrets,
)
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh(scram_pg: ScramPostgres) -> Any:
    with fresh_database(scram_pg) as f:
        yield f


def test_the_first_rotation_creates_the_application_role_with_the_stored_password(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    fresh: FreshDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    assert fresh.role(fresh.user) is None
    driver.rotate(APP_SECRET, replay=True)

    current = login_at(aws, "AWSCURRENT")
    assert current["username"] == alternate(fresh.user)
    assert login_at(aws, "AWSPREVIOUS") == first  # the stored password is the role's
    # neither role is an administrator; the user may create databases (backup scratch)
    assert fresh.role(fresh.user) == (False, False, True, True)
    assert fresh.role(alternate(fresh.user)) == (False, False, False, True)
    with fresh.connect(current["username"], current["password"]) as conn:
        # the store's migrations create tables in the public schema, as the user
        conn.execute("CREATE TABLE public.made_first (x int)")
        conn.execute("INSERT INTO public.made_first VALUES (1)")
        conn.commit()
        assert conn.execute("SELECT current_user").fetchone() == (fresh.user,)
    with fresh.connect(first["username"], first["password"]) as conn:
        assert conn.execute("SELECT x FROM public.made_first").fetchall() == [(1,)]
    for login in (current, first):  # the backup verification's scratch database, as either
        with fresh.connect(login["username"], login["password"]) as conn:
            conn.autocommit = True
            scratch = sql.Identifier(f"{fresh.dbname}_scratch")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(scratch))
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(scratch))
    # the administrator is untouched, and owns nothing the application made
    with fresh.connect(fresh.admin_user, fresh.admin_password) as conn:
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'made_first'"
        ).fetchone()
    assert owner == (fresh.user,)
    assert [(r["step"], r["action"]) for r in driver.results][2:4] == [
        ("setSecret", "done"),
        ("setSecret", "already_done"),
    ]
    printed = capsys.readouterr()
    for login in (first, current):
        assert login["password"] not in printed.out + printed.err


def test_the_second_rotation_goes_back_to_the_first_role(
    driver: SecretsManagerDriver, aws: AwsClients, fresh: FreshDatabase
) -> None:
    store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    driver.rotate(APP_SECRET)
    second = login_at(aws, "AWSCURRENT")
    driver.rotate(APP_SECRET)
    third = login_at(aws, "AWSCURRENT")
    assert third["username"] == fresh.user
    with fresh.connect(third["username"], third["password"]) as conn:
        conn.execute("SELECT 1")
    with fresh.connect(second["username"], second["password"]) as conn:
        conn.execute("SELECT 1")


def test_a_missing_role_whose_alternate_exists_is_not_recreated(
    driver: SecretsManagerDriver, aws: AwsClients, fresh: FreshDatabase
) -> None:
    store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    with admin(fresh.server) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(alternate(fresh.user)), sql.Literal(secrets.token_hex(12))
            )
        )
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    with pytest.raises(RotationRefused, match="its alternate"):
        driver.step(APP_SECRET, token, Step.SET)
    assert fresh.role(fresh.user) is None


def test_an_existing_role_with_another_password_is_still_refused(
    driver: SecretsManagerDriver, aws: AwsClients, fresh: FreshDatabase
) -> None:
    first = store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    with admin(fresh.server) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(fresh.user), sql.Literal("set-by-someone-else")
            )
        )
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    with pytest.raises(RotationRefused, match="current credentials"):
        driver.step(APP_SECRET, token, Step.SET)
    assert fresh.role(alternate(fresh.user)) is None
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        fresh.connect(first["username"], first["password"]).close()


def test_the_administrator_must_be_on_the_same_server(
    driver: SecretsManagerDriver, aws: AwsClients, fresh: FreshDatabase
) -> None:
    store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    elsewhere = {**fresh.login(fresh.admin_user, fresh.admin_password), "host": "10.9.9.9"}
    aws.secretsmanager.put_secret_value(SecretId=ADMIN_SECRET, SecretString=json.dumps(elsewhere))
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    with pytest.raises(RotationRefused, match="another server"):
        driver.step(APP_SECRET, token, Step.SET)
    assert fresh.role(fresh.user) is None
