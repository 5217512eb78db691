"""The database password's rotation (alternating users), driven step by step as Secrets
Manager drives it (moto), against a PostgreSQL that checks passwords."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any
from urllib.parse import quote

import pytest

from functions.common.aws import AwsClients
from functions.common.secrets import SecretSource
from functions.common.store import Store
from functions.rotation.database import DatabaseRotator
from functions.rotation.db_login import AdminSecretRefused, alternate, new_password
from functions.rotation.staging import RotationRefused, Step
from tests.functions.rotation.pg_roles import (
    ADMIN_SECRET,
    APP_SECRET,
    AppRoles,
    admin,
    app_roles,
    login_at,
    store_secrets,
)
from tests.support.leaks import everything_shown
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def roles(scram_pg: ScramPostgres) -> Any:
    with app_roles(scram_pg) as r:
        yield r


def test_alternating_users_keep_the_old_credentials_working_until_the_next_rotation(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    roles: AppRoles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = store_secrets(aws, roles)
    assert roles.works(first)
    driver.rotate(APP_SECRET, replay=True)
    second = login_at(aws, "AWSCURRENT")
    assert second["username"] == roles.clone and second["password"] != first["password"]
    assert {k: v for k, v in second.items() if k not in ("username", "password")} == {
        k: v for k, v in first.items() if k not in ("username", "password")
    }
    assert login_at(aws, "AWSPREVIOUS") == first
    assert roles.works(second)
    assert roles.works(first)  # whoever still holds the old credentials is not refused
    assert [(r["step"], r["action"]) for r in driver.results] == [
        ("createSecret", "done"),
        ("createSecret", "already_done"),
        ("setSecret", "done"),
        ("setSecret", "already_done"),  # replayed: the password is not set twice
        ("testSecret", "done"),
        ("testSecret", "done"),
        ("finishSecret", "done"),
        ("finishSecret", "already_current"),
    ]
    driver.rotate(APP_SECRET)
    third = login_at(aws, "AWSCURRENT")
    assert third["username"] == roles.user
    assert roles.works(third) and roles.works(second)
    assert not roles.works(first)  # two rotations later the first password is gone
    printed = capsys.readouterr()
    for login in (first, second, third):
        assert login["password"] not in printed.out + printed.err


def test_an_interrupted_set_step_resumes_without_setting_twice(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    roles: AppRoles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = store_secrets(aws, roles)
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    real = DatabaseRotator._set_password
    sets: list[str] = []

    def set_then_die(self: DatabaseRotator, *args: Any) -> None:
        real(self, *args)
        sets.append(args[2])
        if len(sets) == 1:  # the function was killed right after the database committed
            raise TimeoutError("Task timed out")

    monkeypatch.setattr(DatabaseRotator, "_set_password", set_then_die)
    with pytest.raises(TimeoutError):
        driver.step(APP_SECRET, token, Step.SET)
    pending = login_at(aws, "AWSPENDING")
    assert roles.works(pending) and roles.works(first)
    # Secrets Manager retries the whole rotation with the same version
    for step in (Step.CREATE, Step.SET, Step.TEST, Step.FINISH):
        driver.step(APP_SECRET, token, step)
    assert sets == [roles.clone]  # set once, never again
    assert login_at(aws, "AWSCURRENT") == pending
    assert [r["action"] for r in driver.results[-4:-2]] == ["already_done", "already_done"]


def test_the_clone_is_created_when_missing_and_acts_as_the_user(
    driver: SecretsManagerDriver, aws: AwsClients, scram_pg: ScramPostgres
) -> None:
    with app_roles(scram_pg, with_clone=False) as roles:
        store_secrets(aws, roles)
        driver.rotate(APP_SECRET)
        login = login_at(aws, "AWSCURRENT")
        assert login["username"] == roles.clone
        assert roles.works(login)
        with roles.connect(login["username"], login["password"]) as conn:
            # what the clone creates belongs to the user: both can use it after any rotation
            conn.execute(f"CREATE TABLE {roles.schema}.made_by_clone (x int)")
            conn.commit()
            row = conn.execute("SELECT session_user, current_user").fetchone()
        assert row == (roles.clone, roles.user)
        with admin(scram_pg) as conn:
            owner = conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = %s",
                (roles.schema, "made_by_clone"),
            ).fetchone()
        assert owner == (roles.user,)


def test_set_refuses_a_pending_secret_that_names_another_role(
    driver: SecretsManagerDriver, aws: AwsClients, roles: AppRoles
) -> None:
    first = store_secrets(aws, roles)
    token = driver.open(APP_SECRET)
    forged = {**first, "username": "postgres", "password": new_password()}
    aws.secretsmanager.put_secret_value(
        SecretId=APP_SECRET,
        ClientRequestToken=token,
        SecretString=json.dumps(forged),
        VersionStages=["AWSPENDING"],
    )
    with pytest.raises(RotationRefused, match="not the alternate"):
        driver.step(APP_SECRET, token, Step.SET)
    assert roles.works(first)


def test_set_refuses_when_the_current_credentials_do_not_work(
    driver: SecretsManagerDriver, aws: AwsClients, roles: AppRoles
) -> None:
    store_secrets(aws, roles)
    with admin(roles.server) as conn:
        conn.execute(f"ALTER ROLE {roles.user} PASSWORD 'changed-by-someone-else'")
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    with pytest.raises(RotationRefused, match="current credentials"):
        driver.step(APP_SECRET, token, Step.SET)
    assert not roles.works(login_at(aws, "AWSPENDING"))  # nothing was set


def test_a_refused_administrator_fails_the_step_saying_which_secret_to_fix(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    roles: AppRoles,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = store_secrets(aws, roles)
    server = roles.server
    wrong = f"wrong-{secrets.token_hex(8)}"
    aws.secretsmanager.put_secret_value(
        SecretId=ADMIN_SECRET, SecretString=json.dumps(server.login(server.admin_user, wrong))
    )
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    pending = login_at(aws, "AWSPENDING")
    with pytest.raises(AdminSecretRefused, match=f"secret '{ADMIN_SECRET}'.*fix that secret"):
        driver.step(APP_SECRET, token, Step.SET)
    with pytest.raises(AdminSecretRefused) as again:  # Secrets Manager's retry: the same
        driver.step(APP_SECRET, token, Step.SET)
    assert roles.works(first) and not roles.works(pending)  # nothing was changed
    printed = capsys.readouterr()
    assert "rotation step failed" in printed.out and "AdminSecretRefused" in printed.out
    shown = everything_shown(again.value) + printed.out + printed.err
    for password in (wrong, server.admin_password, first["password"], pending["password"]):
        assert password not in shown


def test_generated_passwords_need_no_escaping() -> None:
    for _ in range(200):
        password = new_password()
        assert re.fullmatch(r"[A-Za-z0-9]{32}", password)
        assert quote(password, safe="") == password  # a URL carries it unchanged
    assert alternate("app") == "app_clone" and alternate("app_clone") == "app"


def test_a_function_store_follows_the_rotations_without_restarting(
    driver: SecretsManagerDriver, aws: AwsClients, roles: AppRoles
) -> None:
    store_secrets(aws, roles)
    # cached for an hour: only a refusal makes it read the secret again
    store = Store.from_secret(SecretSource(aws.secretsmanager, max_age_s=3600), APP_SECRET)
    from sqlalchemy import text

    def who(engine: Any) -> str:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT session_user")).scalar_one())

    try:
        assert store.run(who) == roles.user
        driver.rotate(APP_SECRET)
        assert store.run(who) == roles.user  # the cached, previous credentials still work
        driver.rotate(APP_SECRET)
        store.dispose()  # new connections from here: the cached password is now refused
        assert store.run(who) == roles.user  # fetched anew: the user is current again
        driver.rotate(APP_SECRET)
        store.dispose()
        assert store.run(who) == roles.user  # previous: still accepted
        fresh = Store.from_secret(SecretSource(aws.secretsmanager), APP_SECRET)
        assert fresh.run(who) == roles.clone  # a new process reads the current one
        fresh.dispose()
    finally:
        store.dispose()
