"""``edge-ops rotate`` and ``edge-ops secrets age`` as a person runs them (a subprocess
against the moto server)."""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from psycopg import sql

from functions.common.aws import AwsClients, AwsOptions
from tests.functions.cli_runner import edge_ops
from tests.functions.conftest import REGION
from tests.functions.rotation.pg_roles import (
    ADMIN_SECRET,
    APP_SECRET,
    admin,
    administrator,
    app_roles,
    login_at,
    role_exists,
    store_secrets,
    use_administrator,
)
from tests.support.scram_pg import ScramPostgres

TOKEN: Any = [{"Key": "edge-ops:secret-kind", "Value": "api-token"}]


@pytest.fixture
def server_aws(moto_endpoint: str) -> AwsClients:
    return AwsClients(AwsOptions(region=REGION, endpoint_url=moto_endpoint))


def ok(*args: str, env: dict[str, str]) -> dict[str, Any]:
    done = edge_ops(*args, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_a_person_rotates_the_token_step_by_step_and_in_one_go(
    cli_env: dict[str, str], server_aws: AwsClients
) -> None:
    sm = server_aws.secretsmanager
    sm.create_secret(Name="edge/api-token", SecretString="b" * 64, Tags=TOKEN)
    started = ok("rotate", "edge/api-token", "--step", "createSecret", env=cli_env)
    token = started["version"]
    assert [s["action"] for s in started["steps"]] == ["done"]
    status = ok("rotate", "edge/api-token", "--status", env=cli_env)
    assert status["rotation_under_way"] == token and status["kind"] == "api-token"
    # a second start is a resume, not a new version: it finishes the same rotation
    resumed = ok("rotate", "edge/api-token", env=cli_env)
    assert resumed["version"] == token
    assert [(s["step"], s["action"]) for s in resumed["steps"]] == [
        ("createSecret", "already_done"),
        ("setSecret", "done"),
        ("testSecret", "done"),
        ("finishSecret", "done"),
    ]
    current = sm.get_secret_value(SecretId="edge/api-token", VersionStage="AWSCURRENT")
    assert current["VersionId"] == token and re.fullmatch(r"[0-9a-f]{64}", current["SecretString"])
    again = ok("rotate", "edge/api-token", env=cli_env)
    assert again["version"] != token and len(again["steps"]) == 4
    human = edge_ops("rotate", "edge/api-token", env=cli_env)
    assert human.returncode == 0 and "finishSecret: done" in human.stdout
    assert current["SecretString"] not in human.stdout + human.stderr


def test_abandon_and_operator_errors(cli_env: dict[str, str], server_aws: AwsClients) -> None:
    sm = server_aws.secretsmanager
    sm.create_secret(Name="edge/api-token", SecretString="c" * 64, Tags=TOKEN)
    sm.create_secret(
        Name="edge/rpc-key",
        SecretString="k",
        Tags=[{"Key": "edge-ops:secret-kind", "Value": "api-key"}],
    )
    missing_step = edge_ops("rotate", "edge/api-token", "--step", "setSecret", env=cli_env)
    assert missing_step.returncode == 2
    assert "no rotation of edge/api-token is under way" in missing_step.stderr
    assert "Traceback" not in missing_step.stderr
    token = ok("rotate", "edge/api-token", "--step", "createSecret", env=cli_env)["version"]
    assert ok("rotate", "edge/api-token", "--abandon", env=cli_env)["abandoned"] == token
    assert ok("rotate", "edge/api-token", "--abandon", env=cli_env)["abandoned"] is None
    current = sm.get_secret_value(SecretId="edge/api-token", VersionStage="AWSCURRENT")
    assert current["SecretString"] == "c" * 64
    key = edge_ops("rotate", "edge/rpc-key", env=cli_env)
    assert key.returncode == 1 and "a machine cannot rotate it" in key.stderr
    nothing = edge_ops("rotate", "edge/none", env=cli_env)
    assert nothing.returncode == 2 and "'edge/none' does not exist" in nothing.stderr
    bad = edge_ops("rotate", "edge/api-token", "--step", "nope", env=cli_env)
    assert bad.returncode == 2


@pytest.mark.postgres
def test_a_person_rotates_the_database_password(
    cli_env: dict[str, str], server_aws: AwsClients, scram_pg: ScramPostgres
) -> None:
    with app_roles(scram_pg) as roles:
        first = store_secrets(server_aws, roles)
        done = ok("rotate", APP_SECRET, env=cli_env)
        assert [s["action"] for s in done["steps"]] == ["done"] * 4
        second = login_at(server_aws, "AWSCURRENT")
        assert second["username"] == roles.clone
        assert roles.works(second) and roles.works(first)


@pytest.mark.postgres
def test_a_refused_administrator_is_one_line_saying_which_secret_to_fix(
    cli_env: dict[str, str], server_aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with app_roles(local_pg, with_clone=False) as roles:
        first = store_secrets(server_aws, roles)
        dba, password = f"{roles.user}_dba", f"dba-{secrets.token_hex(8)}"  # no such role
        server_aws.secretsmanager.put_secret_value(
            SecretId=ADMIN_SECRET, SecretString=json.dumps(local_pg.login(dba, password))
        )
        human = edge_ops("rotate", APP_SECRET, env=cli_env)
        machine = edge_ops("rotate", APP_SECRET, "--json", env=cli_env)  # resumes: the same
        pending = login_at(server_aws, "AWSPENDING")
        with admin(local_pg) as conn:
            clone = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (roles.clone,))
            assert clone.fetchone() is None  # nothing was changed
    assert human.returncode == machine.returncode == 1
    assert human.stderr.splitlines() == [
        f"edge-ops: error: the database at {local_pg.host}:{local_pg.port} refused the "
        f"administrator's login as {dba} (secret '{ADMIN_SECRET}', the database secret's "
        "masterarn): fix that secret's username or password, then run the rotation again; "
        "nothing was changed"
    ]
    assert json.loads(machine.stdout)["error"]["kind"] == "admin_secret_refused"
    printed = human.stdout + human.stderr + machine.stdout + machine.stderr
    for secret in (password, first["password"], pending["password"]):
        assert secret not in printed


@pytest.mark.postgres
def test_an_administrator_without_the_rights_is_one_line_saying_what_to_grant(
    cli_env: dict[str, str], server_aws: AwsClients, local_pg: ScramPostgres
) -> None:
    with app_roles(local_pg, with_clone=False) as roles, administrator(local_pg) as dba:
        first = store_secrets(server_aws, roles)
        use_administrator(server_aws, dba)
        human = edge_ops("rotate", APP_SECRET, env=cli_env)
        machine = edge_ops("rotate", APP_SECRET, "--json", env=cli_env)  # resumes: the same
        status = ok("rotate", APP_SECRET, "--status", env=cli_env)
        pending = login_at(server_aws, "AWSPENDING")
        assert not role_exists(local_pg, roles.clone)  # nothing was changed
    assert human.returncode == machine.returncode == 1
    under_way = status["rotation_under_way"]  # the pending version is still pending
    assert under_way is not None and status["versions"][under_way] == ["AWSPENDING"]
    lines = human.stderr.splitlines()
    assert len(lines) == 1 and "unexpected" not in lines[0] and "a bug" not in lines[0]
    assert lines[0].startswith(
        f"edge-ops: error: the administrator {dba['username']} (secret '{ADMIN_SECRET}', the "
        f"database secret's masterarn) may not create or alter the role {roles.clone} at "
        f"{local_pg.host}:{local_pg.port}: permission denied to create role. Give it CREATEROLE"
    )
    assert lines[0].endswith("then run the rotation again; nothing was changed")
    assert json.loads(machine.stdout)["error"]["kind"] == "admin_lacks_rights"
    printed = human.stdout + human.stderr + machine.stdout + machine.stderr
    for secret in (dba["password"], first["password"], pending["password"]):
        assert secret not in printed


@pytest.mark.postgres
def test_logins_the_operator_must_mend_are_one_line_saying_what_to_fix(
    cli_env: dict[str, str], server_aws: AwsClients, local_pg: ScramPostgres
) -> None:
    """The secret's database missing (exit 2, like any input to fix), then, the secret
    mended, the administrator's role without LOGIN (exit 1): neither is "retry later"."""
    with app_roles(local_pg, with_clone=False) as roles, administrator(local_pg) as dba:
        first = store_secrets(server_aws, roles)
        use_administrator(server_aws, dba)
        missing = f"{roles.schema}_gone"
        server_aws.secretsmanager.put_secret_value(
            SecretId=APP_SECRET, SecretString=json.dumps({**first, "dbname": missing})
        )
        no_db = edge_ops("rotate", APP_SECRET, env=cli_env)
        no_db_json = edge_ops("rotate", APP_SECRET, "--json", env=cli_env)
        ok("rotate", APP_SECRET, "--abandon", env=cli_env)
        server_aws.secretsmanager.put_secret_value(
            SecretId=APP_SECRET, SecretString=json.dumps(first)
        )
        with admin(local_pg) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(dba["username"])))
        no_login = edge_ops("rotate", APP_SECRET, env=cli_env)
        no_login_json = edge_ops("rotate", APP_SECRET, "--json", env=cli_env)
        pending = login_at(server_aws, "AWSPENDING")
        assert not role_exists(local_pg, roles.clone)  # nothing was changed
        with admin(local_pg) as conn:  # the fixture drops it
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN").format(sql.Identifier(dba["username"])))
    assert no_db.returncode == no_db_json.returncode == 2
    assert no_db.stderr.splitlines() == [
        f"edge-ops: error: the database '{missing}' does not exist at {local_pg.host}:"
        f"{local_pg.port}: fix the database secret's dbname (the database the store's tables "
        "are in), then run the rotation again; nothing was changed"
    ]
    assert json.loads(no_db_json.stdout)["error"]["kind"] == "bad_input"
    assert no_login.returncode == no_login_json.returncode == 1
    lines = no_login.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"edge-ops: error: the administrator {dba['username']} (secret '{ADMIN_SECRET}', the "
        f"database secret's masterarn) may not log in at {local_pg.host}:{local_pg.port}: its "
        f"role '{dba['username']}' is not permitted to log in. Give it LOGIN"
    )
    assert json.loads(no_login_json.stdout)["error"]["kind"] == "admin_lacks_rights"
    printed = "".join(p.stdout + p.stderr for p in (no_db, no_db_json, no_login, no_login_json))
    assert "unavailable" not in printed and "retry later" not in printed
    for secret in (dba["password"], first["password"], pending["password"]):
        assert secret not in printed


def test_secrets_age(cli_env: dict[str, str], server_aws: AwsClients) -> None:
    sm = server_aws.secretsmanager
    sm.create_secret(Name="edge/api-token", SecretString="d" * 64, Tags=TOKEN)
    sm.create_secret(
        Name="edge/rpc-key",
        SecretString="k",
        Tags=[{"Key": "edge-ops:secret-kind", "Value": "api-key"}],
    )
    later = (datetime.now(UTC) + timedelta(days=100)).strftime("%Y-%m-%dT%H:%M:%SZ")
    shown = ok("secrets", "age", "--at", later, env=cli_env)
    by_name = {r["secret"]: r for r in shown["secrets"]}
    assert by_name["edge/api-token"]["overdue"] is True
    assert by_name["edge/rpc-key"]["overdue"] is False
    assert by_name["edge/rpc-key"]["max_age_days"] == 180
    human = edge_ops("secrets", "age", env=cli_env)
    assert human.returncode == 0 and "edge/rpc-key" in human.stdout
    bad = edge_ops("secrets", "age", "--at", "tomorrow", env=cli_env)
    assert bad.returncode == 2 and "not an ISO-8601 time" in bad.stderr
