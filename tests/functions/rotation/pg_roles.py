"""Two application roles on the password-checking PostgreSQL, as an operator sets them up
for alternating-users rotation: ``<user>`` and ``<user>_clone`` with the same rights on a
schema of their own, and the secrets that name them (the administrator's, and the
application's pointing at it through ``masterarn``). Dropped afterwards."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from functions.common.aws import AwsClients
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


def login_at(aws: AwsClients, stage: str) -> dict[str, Any]:
    value = aws.secretsmanager.get_secret_value(SecretId=APP_SECRET, VersionStage=stage)
    return dict(json.loads(value["SecretString"]))
