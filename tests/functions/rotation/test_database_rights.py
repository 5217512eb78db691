"""What PostgreSQL answers the rotation in normal operation that is no bug: an administrator
that logs in but lacks the rights, a read-only database, the server ending the work part
way. Each fails the step with a named error, logged, nothing changed, the pending version
still pending; a retry once the cause is gone resumes. Against the machine's PostgreSQL
(127.0.0.1:5432) and the password-checking one."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from psycopg import sql

from functions.common.aws import AwsClients
from functions.common.errors import Unavailable
from functions.rotation.database import DatabaseRotator
from functions.rotation.db_login import DbLogin
from functions.rotation.pg_errors import AdminLacksRights, DatabaseReadOnly
from functions.rotation.staging import Step
from tests.functions.rotation.pg_roles import (
    ADMIN_SECRET,
    APP_SECRET,
    admin,
    administrator,
    app_roles,
    fresh_database,
    login_at,
    role_exists,
    roles_and_administrator,
    started,
    still_pending,
    store_fresh_secrets,
    store_secrets,
    use_administrator,
)
from tests.support.leaks import everything_shown
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


def test_an_administrator_without_createrole_fails_the_step_saying_what_to_grant(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    local_pg: ScramPostgres,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with app_roles(local_pg, with_clone=False) as roles, administrator(local_pg) as dba:
        first = store_secrets(aws, roles)
        use_administrator(aws, dba)
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with pytest.raises(AdminLacksRights) as err:
            driver.step(APP_SECRET, token, Step.SET)
        with pytest.raises(AdminLacksRights):  # Secrets Manager's retry: the same
            driver.step(APP_SECRET, token, Step.SET)
        assert not role_exists(local_pg, roles.clone)  # nothing was changed
        assert still_pending(aws, token) and login_at(aws, "AWSPENDING") == pending
        message = str(err.value)
        assert f"the administrator {dba['username']} (secret '{ADMIN_SECRET}'" in message
        assert f"may not create or alter the role {roles.clone}" in message
        assert "permission denied to create role" in message
        assert f"ALTER ROLE {dba['username']} CREATEROLE" in message
        assert "RDS master" in message and "nothing was changed" in message
        printed = capsys.readouterr()
        assert "rotation step failed" in printed.out and "AdminLacksRights" in printed.out
        shown = everything_shown(err.value) + printed.out + printed.err
        for password in (dba["password"], first["password"], pending["password"]):
            assert password not in shown
        # given the right, the same rotation resumes and finishes
        with admin(local_pg) as conn:
            conn.execute(
                sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(dba["username"]))
            )
        for step in (Step.SET, Step.TEST, Step.FINISH):
            driver.step(APP_SECRET, token, step)
        assert login_at(aws, "AWSCURRENT") == pending and role_exists(local_pg, roles.clone)


def test_a_plain_user_as_administrator_cannot_change_the_alternate_password(
    driver: SecretsManagerDriver, aws: AwsClients, scram_pg: ScramPostgres
) -> None:
    with app_roles(scram_pg) as roles, administrator(scram_pg) as dba:
        first = store_secrets(aws, roles)
        use_administrator(aws, dba)
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with pytest.raises(
            AdminLacksRights, match=f"may not create or alter the role {roles.clone}"
        ):
            driver.step(APP_SECRET, token, Step.SET)
        assert roles.works(first) and not roles.works(pending)  # the clone's password is not set
        assert still_pending(aws, token)


def test_an_administrator_without_createrole_cannot_create_the_first_role(
    driver: SecretsManagerDriver, aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with fresh_database(local_pg) as fresh, administrator(local_pg, "CREATEDB") as dba:
        store_fresh_secrets(aws, fresh, secrets.token_hex(16))
        use_administrator(aws, {**dba, "dbname": fresh.dbname})
        token = started(driver)
        with pytest.raises(AdminLacksRights, match=f"create the application's role {fresh.user}"):
            driver.step(APP_SECRET, token, Step.SET)
        assert fresh.role(fresh.user) is None and still_pending(aws, token)


def test_an_administrator_that_may_not_connect_to_the_database_is_told_to_grant_it(
    driver: SecretsManagerDriver, aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with fresh_database(local_pg) as fresh, administrator(local_pg, "CREATEROLE") as dba:
        with admin(local_pg) as conn:
            conn.execute(
                sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
                    sql.Identifier(fresh.dbname)
                )
            )
        store_fresh_secrets(aws, fresh, secrets.token_hex(16))
        use_administrator(aws, {**dba, "dbname": fresh.dbname})
        token = started(driver)
        with pytest.raises(AdminLacksRights) as err:
            driver.step(APP_SECRET, token, Step.SET)
        assert f"GRANT CONNECT ON DATABASE {fresh.dbname} TO {dba['username']}" in str(err.value)
        assert fresh.role(fresh.user) is None and still_pending(aws, token)
        assert dba["password"] not in everything_shown(err.value)


def test_a_read_only_database_fails_the_step_saying_to_name_the_primary(
    driver: SecretsManagerDriver, aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with (
        app_roles(local_pg, with_clone=False) as roles,
        administrator(local_pg, "CREATEROLE") as dba,
    ):
        with admin(local_pg) as conn:  # as a replica answers: every transaction read-only
            conn.execute(
                sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(
                    sql.Identifier(dba["username"])
                )
            )
        store_secrets(aws, roles)
        use_administrator(aws, dba)
        token = started(driver)
        with pytest.raises(DatabaseReadOnly, match=r"read-only.*must be the primary") as err:
            driver.step(APP_SECRET, token, Step.SET)
        assert err.value.kind == "database_read_only"
        assert not role_exists(local_pg, roles.clone) and still_pending(aws, token)


@contextmanager
def terminated_after_connect(
    monkeypatch: pytest.MonkeyPatch, server: ScramPostgres, *, admin_only: bool
) -> Iterator[list[str]]:
    """Every connection the rotator opens (the administrator's only, if ``admin_only``) is
    ended by the server (``pg_terminate_backend``, as a restart or an operator does) before
    its first statement; the users whose sessions were ended."""
    real = DatabaseRotator.connect
    ended: list[str] = []

    @contextmanager
    def connect(
        self: DatabaseRotator, login: DbLogin, *, admin_secret: str | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        with real(self, login, admin_secret=admin_secret) as conn:
            if admin_secret is not None or not admin_only:
                with admin(server) as killer:  # waits until the backend is gone (30 s)
                    killer.execute(
                        "SELECT pg_terminate_backend(%s, 30000)", (conn.info.backend_pid,)
                    )
                ended.append(login.username)
            yield conn

    with monkeypatch.context() as patch:
        patch.setattr(DatabaseRotator, "connect", connect)
        yield ended


def test_the_server_ending_the_set_step_part_way_is_unavailable_and_a_retry_resumes(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    local_pg: ScramPostgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with roles_and_administrator(aws, local_pg, "CREATEROLE") as (roles, dba, _):
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with (
            terminated_after_connect(monkeypatch, local_pg, admin_only=True) as ended,
            pytest.raises(Unavailable, match="run the rotation again, it resumes") as err,
        ):
            driver.step(APP_SECRET, token, Step.SET)
        assert ended == [dba["username"]]
        assert f"the database at {local_pg.host}:{local_pg.port}" in str(err.value)
        assert not role_exists(local_pg, roles.clone) and still_pending(aws, token)
        assert pending["password"] not in everything_shown(err.value)
        for step in (Step.SET, Step.TEST, Step.FINISH):
            driver.step(APP_SECRET, token, step)
        assert login_at(aws, "AWSCURRENT") == pending and role_exists(local_pg, roles.clone)


def test_the_server_ending_the_test_step_part_way_is_unavailable(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    local_pg: ScramPostgres,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with roles_and_administrator(aws, local_pg, "CREATEROLE") as (roles, _, _):
        token = started(driver)
        driver.step(APP_SECRET, token, Step.SET)
        with (
            terminated_after_connect(monkeypatch, local_pg, admin_only=False) as ended,
            pytest.raises(Unavailable, match=f"log in as {roles.clone}"),
        ):
            driver.step(APP_SECRET, token, Step.TEST)
        assert ended == [roles.clone] and still_pending(aws, token)
        driver.step(APP_SECRET, token, Step.TEST)
        assert still_pending(aws, token)
