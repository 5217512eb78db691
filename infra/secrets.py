"""Secrets: the node's API token (generated), the database credentials (a generated password;
the database component writes the full RDS-style version once the host is known), the RPC
endpoints (their URLs carry the providers' keys: a config secret) and the fan-out's channels
(a config secret). Never a literal: generated, or Pulumi config secrets.

Rotation (``SecretsRotation``): the token and the database credentials rotate every 90 days
through functions/rotation (seed 002); RPC keys are issued by the providers and rotated by hand
(the secret-age function warns after 180 days).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra import catalog
from infra.naming import child

DB_USERNAME = "edge_admin"  # the master user; the rotation's alternating users derive from it


@dataclass(frozen=True)
class SecretsArgs:
    prefix: str
    key_arn: pulumi.Input[str]
    rpc_endpoints: pulumi.Input[str]  # JSON, a config secret
    alert_channels: pulumi.Input[str]  # JSON, a config secret
    recovery_window_days: int = 7


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
            opts=here,
        )

        self.db_password = random.RandomPassword(
            child(name, "db-password"),
            length=32,
            special=True,
            override_special="-_.~",  # safe in a URL without quoting
            opts=here,
        )
        self.db_username = DB_USERNAME
        self.db_credentials = secret(
            "db-credentials", "PostgreSQL credentials (RDS JSON: username, password, host, ...)"
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
                opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]),
            )
            schedules[role] = days
        self.register_outputs({"rotation_days": schedules})
