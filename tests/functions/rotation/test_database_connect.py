"""Logins the operator must mend, which no retry does: the secret's database missing on the
server, the administrator's role not permitted to log in. Each fails the step with a named
error saying what to fix (never "unavailable, retry later"), logged, no password shown,
nothing changed and the pending version still pending. An application role without LOGIN is
a refused login like a wrong password: the rotation gives the alternate LOGIN again. Against
the machine's PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import json

import psycopg
import pytest
from psycopg import sql

from functions.common.aws import AwsClients
from functions.common.errors import BadInput
from functions.rotation.pg_errors import AdminLacksRights
from functions.rotation.staging import Step
from tests.functions.rotation.pg_roles import (
    ADMIN_SECRET,
    APP_SECRET,
    admin,
    login_at,
    role_exists,
    roles_and_administrator,
    started,
    still_pending,
)
from tests.support.leaks import everything_shown
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


def test_a_secret_naming_a_missing_database_is_bad_input_saying_to_fix_its_dbname(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    local_pg: ScramPostgres,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with roles_and_administrator(aws, local_pg, "CREATEROLE") as (roles, dba, first):
        missing = f"{roles.schema}_gone"  # a database of that name was never created
        wrong = {**first, "dbname": missing}
        aws.secretsmanager.put_secret_value(SecretId=APP_SECRET, SecretString=json.dumps(wrong))
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with pytest.raises(BadInput) as err:
            driver.step(APP_SECRET, token, Step.SET)
        assert type(err.value) is BadInput and err.value.kind == "bad_input"
        assert str(err.value) == (
            f"the database '{missing}' does not exist at {local_pg.host}:{local_pg.port}: fix "
            "the database secret's dbname (the database the store's tables are in), then run "
            "the rotation again; nothing was changed"
        )
        assert not role_exists(local_pg, roles.clone) and still_pending(aws, token)
        printed = capsys.readouterr()
        assert "rotation step failed" in printed.out and "BadInput" in printed.out
        shown = everything_shown(err.value) + printed.out + printed.err
        for password in (dba["password"], first["password"], pending["password"]):
            assert password not in shown


def test_an_administrator_that_may_not_log_in_is_told_to_give_it_login(
    driver: SecretsManagerDriver, aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with roles_and_administrator(aws, local_pg, "CREATEROLE") as (roles, dba, _):
        name = sql.Identifier(dba["username"])
        with admin(local_pg) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(name))
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with pytest.raises(AdminLacksRights) as err:
            driver.step(APP_SECRET, token, Step.SET)
        assert str(err.value) == (
            f"the administrator {dba['username']} (secret '{ADMIN_SECRET}', the database "
            f"secret's masterarn) may not log in at {local_pg.host}:{local_pg.port}: its role "
            f"'{dba['username']}' is not permitted to log in. Give it LOGIN (ALTER ROLE "
            f"{dba['username']} LOGIN, run by a superuser or the RDS master user) or store the "
            "RDS master user's credentials in that secret, then run the rotation again; "
            "nothing was changed"
        )
        assert not role_exists(local_pg, roles.clone) and still_pending(aws, token)
        assert dba["password"] not in everything_shown(err.value)
        with admin(local_pg) as conn:  # given LOGIN, the same rotation resumes and finishes
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(name))
        for step in (Step.SET, Step.TEST, Step.FINISH):
            driver.step(APP_SECRET, token, step)
        assert login_at(aws, "AWSCURRENT") == pending and roles.works(pending)


def test_an_alternate_without_login_is_given_it_back(
    driver: SecretsManagerDriver, aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with roles_and_administrator(aws, local_pg, "CREATEROLE", with_clone=True) as (
        roles,
        _,
        first,
    ):
        with admin(local_pg) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(roles.clone)))
        token = started(driver)
        pending = login_at(aws, "AWSPENDING")
        with pytest.raises(psycopg.OperationalError, match="is not permitted to log in"):
            roles.works(pending)
        for step in (Step.SET, Step.TEST, Step.FINISH):
            driver.step(APP_SECRET, token, step)
        assert login_at(aws, "AWSCURRENT") == pending
        assert roles.works(pending) and roles.works(first)
