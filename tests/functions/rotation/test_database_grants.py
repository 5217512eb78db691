"""The first rotation's grants must take. An administrator that may create roles but does not
own the database gets only a warning from PostgreSQL ("no privileges were granted") for the
application role's rights; the rotation checks the role holds each one and otherwise fails
the step as ``AdminLacksRights`` naming the grant, with nothing committed (the role is not
created). Against the machine's PostgreSQL (15: the schema public belongs to the database's
owner)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from psycopg import sql

from functions.common.aws import AwsClients
from functions.rotation.pg_errors import AdminLacksRights
from functions.rotation.staging import Step
from tests.functions.rotation.pg_roles import (
    APP_SECRET,
    FreshDatabase,
    admin,
    fresh_database,
    login_at,
    started,
    still_pending,
    store_fresh_secrets,
)
from tests.support.leaks import everything_shown
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

pytestmark = pytest.mark.postgres


@pytest.fixture
def not_owned(local_pg: ScramPostgres) -> Iterator[FreshDatabase]:
    """A fresh database whose administrator (CREATEROLE, CREATEDB) does not own it: the
    server's superuser does, and so the schema public too."""
    with fresh_database(local_pg) as fresh:
        with admin(local_pg) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    sql.Identifier(fresh.dbname), sql.Identifier(local_pg.admin_user)
                )
            )
        yield fresh


def owned_by_administrator(fresh: FreshDatabase) -> None:
    with admin(fresh.server) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(fresh.dbname), sql.Identifier(fresh.admin_user)
            )
        )


def test_a_schema_grant_that_does_not_take_fails_the_step_and_creates_nothing(
    driver: SecretsManagerDriver,
    aws: AwsClients,
    not_owned: FreshDatabase,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fresh = not_owned
    first = store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    token = started(driver)
    pending = login_at(aws, "AWSPENDING")
    with pytest.raises(AdminLacksRights) as err:
        driver.step(APP_SECRET, token, Step.SET)
    assert fresh.role(fresh.user) is None  # the CREATE ROLE was rolled back with the grants
    assert fresh.role(pending["username"]) is None and still_pending(aws, token)
    message = str(err.value)
    assert err.value.kind == "admin_lacks_rights"
    assert message.startswith(
        f"the administrator {fresh.admin_user} (secret 'edge/db-admin', the database secret's "
        f"masterarn) may not create the application's role {fresh.user} at "
        f"{fresh.server.host}:{fresh.server.port}: GRANT USAGE, CREATE ON SCHEMA public TO "
        f"{fresh.user} did not take"
    )
    assert "no privileges were granted" in message
    assert f"ALTER DATABASE {fresh.dbname} OWNER TO {fresh.admin_user}" in message
    assert message.endswith("then run the rotation again; nothing was changed")
    printed = capsys.readouterr()
    assert "rotation step failed" in printed.out and "AdminLacksRights" in printed.out
    shown = everything_shown(err.value) + printed.out + printed.err
    for password in (fresh.admin_password, first["password"], pending["password"]):
        assert password not in shown
    # the administrator made the database's owner, the same rotation resumes and finishes
    owned_by_administrator(fresh)
    for step in (Step.SET, Step.TEST, Step.FINISH):
        driver.step(APP_SECRET, token, step)
    assert login_at(aws, "AWSCURRENT") == pending
    with fresh.connect(first["username"], first["password"]) as conn:  # the store's tables
        conn.execute("CREATE TABLE public.made_first (x int)")
        owner = conn.execute("SELECT tableowner FROM pg_tables WHERE tablename = 'made_first'")
        assert owner.fetchone() == (fresh.user,)


def test_a_database_grant_that_does_not_take_is_named(
    driver: SecretsManagerDriver, aws: AwsClients, not_owned: FreshDatabase
) -> None:
    fresh = not_owned
    with admin(fresh.server) as conn:  # the administrator may connect, but grant nothing
        db, dba = sql.Identifier(fresh.dbname), sql.Identifier(fresh.admin_user)
        conn.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(db))
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, dba))
    store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    token = started(driver)
    with pytest.raises(AdminLacksRights) as err:
        driver.step(APP_SECRET, token, Step.SET)
    assert (
        f"GRANT CONNECT, TEMPORARY ON DATABASE {fresh.dbname} TO {fresh.user} did not take"
        in str(err.value)
    )
    assert fresh.role(fresh.user) is None and still_pending(aws, token)


def test_a_grant_refused_outright_gets_its_own_advice_not_createrole(
    driver: SecretsManagerDriver, aws: AwsClients, not_owned: FreshDatabase
) -> None:
    """An administrator with no right at all on the schema public is refused the grant with an
    error (42501), not a warning: the advice is the grant's own (own the database), never the
    CREATEROLE it already has."""
    fresh = not_owned
    # as the server's superuser, in that database: PUBLIC loses its USAGE on the schema
    with fresh.connect(fresh.server.admin_user, fresh.server.admin_password) as conn:
        conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
    store_fresh_secrets(aws, fresh, secrets.token_hex(16))
    token = started(driver)
    with pytest.raises(AdminLacksRights) as err:
        driver.step(APP_SECRET, token, Step.SET)
    message = str(err.value)
    assert f"GRANT USAGE, CREATE ON SCHEMA public TO {fresh.user} was refused" in message
    assert "permission denied for schema public" in message
    assert f"ALTER DATABASE {fresh.dbname} OWNER TO {fresh.admin_user}" in message
    assert "Give it CREATEROLE" not in message
    assert fresh.role(fresh.user) is None and still_pending(aws, token)
