"""The database: RDS PostgreSQL in the private subnets, encrypted with the stack's key, not
publicly reachable, automated backups kept, deletion protection and a final snapshot.

Its two logins (infra/secrets.py ``DatabaseLogins``) are written to their secrets in the RDS
JSON shape the functions (functions/common/store.py) and the rotation read: the master's to
``db-admin``, the application's first login to ``db-credentials`` with ``masterarn`` = the
``db-admin`` secret's ARN (the administrator the alternating-users rotation logs in as; its
first run creates the application's role, functions/rotation/database.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.naming import child
from infra.secrets import DatabaseLogins

DB_NAME = "edge"
PORT = 5432


@dataclass(frozen=True)
class DatabaseArgs:
    prefix: str
    subnet_ids: Sequence[pulumi.Input[str]]
    vpc_id: pulumi.Input[str]
    client_sg_ids: Sequence[pulumi.Input[str]]  # the functions' and the edge host's groups
    key_arn: pulumi.Input[str]
    logins: DatabaseLogins
    instance_class: str = "db.t4g.small"
    engine_version: str = "16"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    backup_retention_days: int = 14
    multi_az: bool = False


class Database(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Database", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(
            child(name, "sg"),
            vpc_id=args.vpc_id,
            description="PostgreSQL: from the functions and the edge host only",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=PORT,
                    to_port=PORT,
                    security_groups=[g],
                    description="PostgreSQL from a client group",
                )
                for g in args.client_sg_ids
            ],
            opts=here,
        )
        subnets = aws.rds.SubnetGroup(
            child(name, "subnets"), subnet_ids=list(args.subnet_ids), opts=here
        )
        db = aws.rds.Instance(
            child(name, "postgres"),
            identifier=f"{args.prefix}-db",
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.key_arn,
            db_name=DB_NAME,
            username=args.logins.admin_username,
            password=args.logins.admin_password,
            port=PORT,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[sg.id],
            publicly_accessible=False,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window="00:30-01:30",  # before our own backup at 02:00 UTC
            maintenance_window="sun:03:00-sun:04:00",
            copy_tags_to_snapshot=True,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{args.prefix}-db-final",
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=False,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.key_arn,
            opts=here,
        )
        logins = args.logins

        def rds_json(
            username: str, password: pulumi.Input[str], **more: pulumi.Input[str]
        ) -> pulumi.Output[str]:
            fields: dict[str, Any] = {
                "engine": "postgres",
                "host": db.address,
                "port": db.port,
                "username": username,
                "password": password,
                "dbname": DB_NAME,
                **more,
            }
            return pulumi.Output.secret(pulumi.Output.json_dumps(fields))

        aws.secretsmanager.SecretVersion(
            child(name, "admin-credentials"),
            secret_id=logins.admin_secret.id,
            secret_string=rds_json(logins.admin_username, logins.admin_password),
            opts=here,
        )
        # the application's first login: its role is created by the first rotation, which
        # then moves AWSCURRENT to a new version (a refresh must not move it back). Its text
        # stays as it is: a changed text would replace the version and make the deploy-time
        # password current again (TLS is required through PGSSLMODE, not a field here).
        self.app_credentials = rds_json(
            logins.app_username, logins.app_password, masterarn=logins.admin_secret.arn
        )
        aws.secretsmanager.SecretVersion(
            child(name, "credentials"),
            secret_id=logins.app_secret.id,
            secret_string=self.app_credentials,
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["version_stages"]),
        )
        self.address = db.address
        self.identifier = db.identifier
        self.sg_id = sg.id
        self.register_outputs({"address": db.address, "identifier": db.identifier})
