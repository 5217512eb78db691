"""Secrets: the node's API token (generated), the database's two logins, the RPC endpoints
(their URLs carry the providers' keys: a config secret) and the fan-out's channels (a config
secret). Never a literal: generated, or Pulumi config secrets.

The database has two secrets (``DatabaseLogins``), both RDS-style JSON (``engine``, ``host``,
``port``, ``username``, ``password``, ``dbname``) written by the database component once the
host is known, both encrypted with the stack's key:

- ``db-credentials``: the application's role ``edge_app`` (not the master), which the node and
  the functions log in with, and its ``masterarn``: the ARN of
- ``db-admin``: the RDS master user ``edge_admin``, which only the database rotation reads
  (functions/rotation/database.py logs in with it to set the alternate role's password).

The application's role does not exist on a fresh database: its first password is generated
here, and the database rotation, attached with ``rotate_immediately``, creates the role with it
(neither it nor ``edge_app_clone`` existing) before it makes the clone and rotates to it.

The master password stays generated here (``random.RandomPassword``) rather than RDS's
``manage_master_user_password``: RDS would keep it in a secret of its own holding only
``username`` and ``password`` (no host, port, engine or database, which the rotation needs to
log in and checks against the application's secret), on RDS's own rotation schedule, under a
name the stack does not choose. Generated, it goes to the RDS instance and to ``db-admin`` in
the shape the rotation reads. It is not rotated by a machine: a new master password is a
``pulumi up`` with a new ``db-password`` (``pulumi up --replace <its URN>``).

Rotation (``SecretsRotation``): the token and the application's credentials rotate every 90
days through functions/rotation (seed 002); RPC keys are issued by the providers and rotated by
hand (the secret-age function warns after 180 days). The first version of a rotated secret
ignores changes of its labels: after a rotation it is no longer AWSCURRENT, and a
``pulumi up --refresh`` must not make it current again.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra import catalog
from infra.naming import child

DB_ADMIN_USERNAME = "edge_admin"  # the RDS master user (db-admin)
# The application's role (db-credentials); the rotation alternates it with edge_app_clone.
DB_APP_USERNAME = "edge_app"


@dataclass(frozen=True)
class SecretsArgs:
    prefix: str
    key_arn: pulumi.Input[str]
    rpc_endpoints: pulumi.Input[str]  # JSON, a config secret
    alert_channels: pulumi.Input[str]  # JSON, a config secret
    recovery_window_days: int = 7


@dataclass(frozen=True)
class DatabaseLogins:
    """The database's administrator (the RDS master) and the application's first login, with
    the secret each is kept in."""

    admin_username: str
    admin_password: pulumi.Output[str]
    admin_secret: aws.secretsmanager.Secret
    app_username: str
    app_password: pulumi.Output[str]
    app_secret: aws.secretsmanager.Secret


class Secrets(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Secrets", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)

        def secret(part: str, what: str) -> aws.secretsmanager.Secret:
            return aws.secretsmanager.Secret(
                child(name, part),
                name=f"{args.prefix}/{part}",
                description=what,
                kms_key_id=args.key_arn,
                recovery_window_in_days=args.recovery_window_days,
                opts=here,
            )

        # 64 hex characters, as seed 002's `openssl rand -hex 32`
        token = random.RandomId(child(name, "api-token-value"), byte_length=32, opts=here)
        self.api_token = secret("api-token", "the edge node's API bearer token")
        aws.secretsmanager.SecretVersion(
            child(name, "api-token-version"),
            secret_id=self.api_token.id,
            secret_string=pulumi.Output.secret(token.hex),  # type: ignore[arg-type]
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["version_stages"]),
        )

        master_password = random.RandomPassword(
            child(name, "db-password"),  # the master's (its name kept from before db-admin)
            length=32,
            special=True,
            override_special="-_.~",  # safe in a URL without quoting
            opts=here,
        )
        # letters and digits, as the rotation's own (functions/rotation/database.py)
        app_password = random.RandomPassword(
            child(name, "db-app-password"), length=32, special=False, opts=here
        )
        self.db_admin = secret(
            "db-admin",
            "PostgreSQL master credentials (RDS JSON): read by the database rotation only",
        )
        self.db_credentials = secret(
            "db-credentials",
            "PostgreSQL credentials of the application's role (RDS JSON: username, password, "
            "host, ...; masterarn: the db-admin secret), rotated with alternating users",
        )
        self.db_logins = DatabaseLogins(
            admin_username=DB_ADMIN_USERNAME,
            admin_password=master_password.result,
            admin_secret=self.db_admin,
            app_username=DB_APP_USERNAME,
            app_password=app_password.result,
            app_secret=self.db_credentials,
        )

        self.rpc_keys = secret("rpc-endpoints", "RPC endpoints with their providers' keys (JSON)")
        aws.secretsmanager.SecretVersion(
            child(name, "rpc-endpoints-version"),
            secret_id=self.rpc_keys.id,
            secret_string=pulumi.Output.secret(args.rpc_endpoints),
            opts=here,
        )
        self.alert_channels = secret(
            "alert-channels", "the fan-out's Slack webhook, PagerDuty key, Telegram bot (JSON)"
        )
        aws.secretsmanager.SecretVersion(
            child(name, "alert-channels-version"),
            secret_id=self.alert_channels.id,
            secret_string=pulumi.Output.secret(args.alert_channels),
            opts=here,
        )
        self.by_role = {
            "api-token": self.api_token,
            "db-credentials": self.db_credentials,
            "rpc-keys": self.rpc_keys,
        }
        self.register_outputs(
            {
                "api_token": self.api_token.arn,
                "db_credentials": self.db_credentials.arn,
                "db_admin": self.db_admin.arn,
                "rpc_endpoints": self.rpc_keys.arn,
                "alert_channels": self.alert_channels.arn,
            }
        )


@dataclass(frozen=True)
class SecretsRotationArgs:
    secrets: Secrets
    functions: dict[str, aws.lambda_.Function]  # catalog name -> function


class SecretsRotation(pulumi.ComponentResource):
    """Each rotated secret attached to its rotation function on its schedule (catalog)."""

    def __init__(
        self, name: str, args: SecretsRotationArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:SecretsRotation", name, None, opts)
        schedules: dict[str, int] = {}
        for role, (days, fn_name) in catalog.ROTATION.items():
            if days is None or fn_name is None:
                continue
            secret = args.secrets.by_role[role]
            fn = args.functions[fn_name]
            allowed = aws.lambda_.Permission(
                child(name, f"{role}-invoke"),
                action="lambda:InvokeFunction",
                function=fn.name,
                principal="secretsmanager.amazonaws.com",
                source_arn=secret.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.secretsmanager.SecretRotation(
                child(name, role),
                secret_id=secret.id,
                rotation_lambda_arn=fn.arn,
                rotation_rules=aws.secretsmanager.SecretRotationRotationRulesArgs(
                    automatically_after_days=days
                ),
                # at once (AWS's default, stated): on a fresh stack the database's first
                # rotation creates the application's role (see the module's docstring)
                rotate_immediately=True,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]),
            )
            schedules[role] = days
        self.register_outputs({"rotation_days": schedules})
