"""Two application roles on the password-checking PostgreSQL, as an operator sets them up
for alternating-users rotation: ``<user>`` and ``<user>_clone`` with the same rights on a
schema of their own, and the secrets that name them (the administrator's, and the
application's pointing at it through ``masterarn``); an administrator with only the rights a
test gives it. Dropped afterwards. And a fresh database
as a new stack has it (``fresh_database``): an RDS-like administrator, no application role."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from functions.common.aws import AwsClients
from functions.rotation.staging import Step
from tests.support.rotation import SecretsManagerDriver
from tests.support.scram_pg import ScramPostgres

ADMIN_SECRET = "edge/db-admin"
APP_SECRET = "edge/db"


@dataclass
class AppRoles:
    server: ScramPostgres
    user: str
    clone: str
    schema: str
    password: str  # the user's first password

    def connect(self, user: str, password: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.server.host,
            port=self.server.port,
            dbname=self.server.dbname,
            user=user,
            password=password,
            connect_timeout=5,
        )

    def works(self, login: dict[str, Any]) -> bool:
        """Can ``login`` log in and write to the application's table?"""
        try:
            with self.connect(login["username"], login["password"]) as conn:
                conn.execute(
                    sql.SQL("INSERT INTO {}.t (who) VALUES (session_user)").format(
                        sql.Identifier(self.schema)
                    )
                )
        except psycopg.OperationalError as err:
            if "password authentication failed" in str(err):
                return False
            raise
        return True


def admin(server: ScramPostgres) -> psycopg.Connection[Any]:
    return psycopg.connect(server.admin_url, autocommit=True)


@contextmanager
def app_roles(server: ScramPostgres, *, with_clone: bool = True) -> Iterator[AppRoles]:
    tag = uuid.uuid4().hex[:8]
    user, schema, password = f"app_{tag}", f"s_{tag}", secrets.token_hex(12)
    roles = AppRoles(server, user, f"{user}_clone", schema, password)
    with admin(server) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(user), sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(
            sql.SQL("CREATE TABLE {}.t (who text NOT NULL)").format(sql.Identifier(schema))
        )
        grantees = [user]
        if with_clone:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(roles.clone), sql.Literal(secrets.token_hex(12))
                )
            )
            grantees.append(roles.clone)
        for role in grantees:
            conn.execute(
                sql.SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
            conn.execute(
                sql.SQL("GRANT SELECT, INSERT ON {}.t TO {}").format(
                    sql.Identifier(schema), sql.Identifier(role)
                )
            )
    try:
        yield roles
    finally:
        with admin(server) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
            for role in (roles.clone, user):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def store_secrets(aws: AwsClients, roles: AppRoles) -> dict[str, Any]:
    """The administrator's secret and the application's (tagged ``database``)."""
    server = roles.server
    aws.secretsmanager.create_secret(
        Name=ADMIN_SECRET,
        SecretString=json.dumps(server.login(server.admin_user, server.admin_password)),
    )
    login = {**server.login(roles.user, roles.password), "masterarn": ADMIN_SECRET}
    aws.secretsmanager.create_secret(
        Name=APP_SECRET,
        SecretString=json.dumps(login),
        Tags=[{"Key": "edge-ops:secret-kind", "Value": "database"}],
    )
    return login


@contextmanager
def administrator(server: ScramPostgres, *attributes: LiteralString) -> Iterator[dict[str, Any]]:
    """A login role with only ``attributes`` (``CREATEROLE``, ...; none: a plain user), as
    the administrator's secret's value; dropped afterwards with what it owns."""
    name, password = f"dba_{uuid.uuid4().hex[:8]}", secrets.token_hex(12)
    with admin(server) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN {} PASSWORD {}").format(
                sql.Identifier(name),
                sql.SQL(" ").join(sql.SQL(a) for a in attributes),
                sql.Literal(password),
            )
        )
    try:
        yield server.login(name, password)
    finally:
        with admin(server) as conn:
            conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def use_administrator(aws: AwsClients, login: dict[str, Any]) -> None:
    aws.secretsmanager.put_secret_value(SecretId=ADMIN_SECRET, SecretString=json.dumps(login))


@contextmanager
def roles_and_administrator(
    aws: AwsClients, server: ScramPostgres, *attributes: LiteralString, with_clone: bool = False
) -> Iterator[tuple[AppRoles, dict[str, Any], dict[str, Any]]]:
    """The application's roles and an administrator with ``attributes``, both secrets stored
    (the administrator's as the application secret's masterarn): (the roles, the
    administrator's login, the application's current login)."""
    with (
        app_roles(server, with_clone=with_clone) as roles,
        administrator(server, *attributes) as dba,
    ):
        first = store_secrets(aws, roles)
        use_administrator(aws, dba)
        yield roles, dba, first


def role_exists(server: ScramPostgres, name: str) -> bool:
    with admin(server) as conn:
        return (
            conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
            is not None
        )


def login_at(aws: AwsClients, stage: str) -> dict[str, Any]:
    value = aws.secretsmanager.get_secret_value(SecretId=APP_SECRET, VersionStage=stage)
    return dict(json.loads(value["SecretString"]))


def started(driver: SecretsManagerDriver) -> str:
    """A rotation of the application's secret opened, its createSecret run: its version."""
    token = driver.open(APP_SECRET)
    driver.step(APP_SECRET, token, Step.CREATE)
    return token


def still_pending(aws: AwsClients, token: str) -> bool:
    stages = aws.secretsmanager.describe_secret(SecretId=APP_SECRET)["VersionIdsToStages"]
    return stages[token] == ["AWSPENDING"]


@dataclass
class FreshDatabase:
    """A database as RDS makes it: owned by an administrator who is no superuser (CREATEROLE,
    CREATEDB), with nothing of the application's in it yet."""

    server: ScramPostgres
    dbname: str
    admin_user: str
    admin_password: str
    user: str  # the application's role the secret names: not created

    def login(self, user: str, password: str) -> dict[str, object]:
        return self.server.login(user, password, self.dbname)

    def connect(self, user: str, password: str) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.server.host,
            port=self.server.port,
            dbname=self.dbname,
            user=user,
            password=password,
            connect_timeout=5,
        )

    def role(self, name: str) -> tuple[Any, ...] | None:
        with admin(self.server) as conn:
            return conn.execute(
                "SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin FROM pg_roles "
                "WHERE rolname = %s",
                (name,),
            ).fetchone()


@contextmanager
def fresh_database(server: ScramPostgres) -> Iterator[FreshDatabase]:
    tag = uuid.uuid4().hex[:8]
    fresh = FreshDatabase(server, f"edge_{tag}", f"dba_{tag}", secrets.token_hex(12), f"app_{tag}")
    with admin(server) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(fresh.admin_user), sql.Literal(fresh.admin_password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(fresh.dbname), sql.Identifier(fresh.admin_user)
            )
        )
    try:
        yield fresh
    finally:
        with admin(server) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(fresh.dbname)
                )
            )
            for role in (f"{fresh.user}_clone", fresh.user, fresh.admin_user):
                if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone():
                    conn.execute(sql.SQL("DROP OWNED BY {} CASCADE").format(sql.Identifier(role)))
                    conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def store_fresh_secrets(aws: AwsClients, fresh: FreshDatabase, password: str) -> dict[str, Any]:
    """What a fresh stack holds: the administrator's secret, and the application's naming a
    role that does not exist yet, with the password the deployment generated."""
    aws.secretsmanager.create_secret(
        Name=ADMIN_SECRET,
        SecretString=json.dumps(fresh.login(fresh.admin_user, fresh.admin_password)),
    )
    login = {**fresh.login(fresh.user, password), "masterarn": ADMIN_SECRET}
    aws.secretsmanager.create_secret(Name=APP_SECRET, SecretString=json.dumps(login))
    return login
