"""The Pulumi program: reads the stack's configuration and wires the components. Nothing else
happens here (each component's module says what it builds and why)."""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import catalog
from infra.alarms import Alarms, AlarmsArgs
from infra.alert_subscriptions import AlertSubscriptions, AlertSubscriptionsArgs
from infra.alerting import Alerting, AlertingArgs
from infra.dashboard import Dashboard, DashboardArgs
from infra.database import Database, DatabaseArgs
from infra.edge_host import EdgeHost, EdgeHostArgs
from infra.function_access import Targets
from infra.functions import Functions, FunctionsArgs
from infra.host_boot import BadHostConfig, node_config, stop_timeout_s
from infra.monitoring import alert_rules, alertmanager_sns
from infra.naming import stack_prefix
from infra.network import Network, NetworkArgs
from infra.secrets import Secrets, SecretsArgs, SecretsRotation, SecretsRotationArgs
from infra.settings import NAMESPACE, BadStackConfig, read
from infra.storage import Storage, StorageArgs

ROOT = Path(__file__).resolve().parents[1]

settings = read(pulumi.Config(NAMESPACE), pulumi.Config("aws"), ROOT)
prefix = stack_prefix()

azs = settings.availability_zones or aws.get_availability_zones(state="available").names[:2]
network = Network(
    f"{prefix}-network",
    NetworkArgs(settings.region, settings.vpc_cidr, list(azs), settings.nat_gateway),
)
storage = Storage(f"{prefix}-storage", StorageArgs())
alerting = Alerting(f"{prefix}-alerting", AlertingArgs(prefix, settings.fallback_email))
secrets = Secrets(
    f"{prefix}-secrets",
    SecretsArgs(prefix, storage.key_arn, settings.rpc_endpoints, settings.alert_channels),
)

try:
    template, drain_s = node_config(
        settings.node_config_text,
        ssm_parameter=f"/{prefix}/emergency-stop",
        region=settings.region,
        api_port=settings.api_port,
        endpoints=list(
            zip(settings.rpc_endpoint_names, settings.rpc_endpoint_websockets, strict=True)
        ),
    )
except BadHostConfig as err:
    raise BadStackConfig(f"{NAMESPACE}:{err}") from None
host = EdgeHost(
    f"{prefix}-edge",
    EdgeHostArgs(
        prefix=prefix,
        region=settings.region,
        vpc_id=network.vpc_id,
        subnet_id=network.public_subnet_ids[0],
        functions_sg_id=network.functions_sg_id,
        admin_cidr=settings.admin_cidr,
        api_port=settings.api_port,
        key_arn=storage.key_arn,
        release=settings.release,
        config_template=template,
        stop_timeout_s=stop_timeout_s(drain_s),
        token_secret_arn=secrets.api_token.arn,
        db_secret_arn=secrets.db_credentials.arn,
        rpc_secret_arn=secrets.rpc_keys.arn,
        log_retention_days=settings.log_retention_days,
        monitoring=settings.monitoring,
        topic_arns={sev: topic.arn for sev, topic in alerting.topics.items()},
        node_name=settings.node_name,
        instance_type=settings.instance_type,
        volume_gb=settings.volume_gb,
        ami_id=settings.ami_id,
        live=settings.live,
    ),
)
db = settings.database
database = Database(
    f"{prefix}-database",
    DatabaseArgs(
        prefix=prefix,
        subnet_ids=network.private_subnet_ids,
        vpc_id=network.vpc_id,
        client_sg_ids=[network.functions_sg_id, host.sg_id],
        key_arn=storage.key_arn,
        logins=secrets.db_logins,
        instance_class=db.instance_class,
        engine_version=db.engine_version,
        allocated_storage_gb=db.allocated_storage_gb,
        max_allocated_storage_gb=db.max_allocated_storage_gb,
        backup_retention_days=db.backup_retention_days,
        multi_az=db.multi_az,
    ),
)
functions = Functions(
    f"{prefix}-functions",
    FunctionsArgs(
        prefix=prefix,
        artifacts_dir=settings.artifacts_dir,
        subnet_ids=network.private_subnet_ids,
        security_group_id=network.functions_sg_id,
        log_retention_days=settings.log_retention_days,
        targets=Targets(
            key_arn=storage.key_arn,
            backups_bucket=storage.backups.name,
            backups_arn=storage.backups.arn,
            reports_bucket=storage.reports.name,
            reports_arn=storage.reports.arn,
            db_secret_arn=secrets.db_credentials.arn,
            db_admin_secret_arn=secrets.db_admin.arn,
            token_secret_arn=secrets.api_token.arn,
            rpc_secret_arn=secrets.rpc_keys.arn,
            alert_secret_arn=secrets.alert_channels.arn,
            alert_table_arn=alerting.idempotency.arn,
            alert_table_name=alerting.idempotency.name,
            alert_dlq_arn=alerting.dead_letters.arn,
            alert_dlq_url=alerting.dead_letters.url,
            failures_arn=alerting.failures.arn,
            topics=alerting.topics,
            stop_flag_arn=host.stop_flag.arn,
            stop_flag_name=host.stop_flag.name,
            instance_arn=host.instance_arn,
            instance_id=host.instance_id,
            node_url=host.api_url,
            node_name=settings.node_name,
            alert_email=settings.alert_email,
            run_shell_document_arn=f"arn:aws:ssm:{settings.region}::document/AWS-RunShellScript",
            runbook_table_arn=alerting.runbook_locks.arn,
            runbook_table_name=alerting.runbook_locks.name,
            # the stack's own alarms: the account is the edge host's (arn:aws:ec2:r:ACCOUNT:...)
            alarms_arn_prefix=pulumi.Output.from_input(host.instance_arn).apply(
                lambda a: f"arn:aws:cloudwatch:{settings.region}:{a.split(':')[4]}:alarm:{prefix}-"
            ),
        ),
    ),
    opts=pulumi.ResourceOptions(depends_on=[database]),
)
AlertSubscriptions(
    f"{prefix}-subscriptions",
    AlertSubscriptionsArgs(
        alerting.topics,
        functions.functions,
        alertmanager_sns.runbook_topics(alert_rules.rules()),
    ),
)
SecretsRotation(
    f"{prefix}-rotation",
    SecretsRotationArgs(secrets, functions.functions),
    # the first rotations run at once: the database, and the VPC endpoints the functions use
    opts=pulumi.ResourceOptions(depends_on=[database, network]),
)
alarms = Alarms(
    f"{prefix}-alarms",
    AlarmsArgs(
        prefix=prefix,
        topics=alerting.topics,
        functions=functions.functions,
        instance_id=host.instance_id,
        failures_queue_name=alerting.failures.name,
        alert_dlq_name=alerting.dead_letters.name,
        node_name=settings.node_name,
        endpoint_names=settings.rpc_endpoint_names,
    ),
)
dashboard = Dashboard(
    f"{prefix}-dashboard",
    DashboardArgs(
        prefix,
        settings.region,
        host.instance_id,
        functions.functions,
        alarms.alarms,
        settings.node_name,
        settings.rpc_endpoint_names,
    ),
)

pulumi.export("edge_host", host.instance_id)
pulumi.export("edge_api_url", host.api_url)
pulumi.export("edge_logs", host.log_group)
pulumi.export("stop_flag", host.stop_flag.name)
pulumi.export("database", database.address)
pulumi.export("backups_bucket", storage.backups.name)
pulumi.export("reports_bucket", storage.reports.name)
pulumi.export("alert_topics", {s.value: t.arn for s, t in alerting.topics.items()})
pulumi.export("functions", {n: f.name for n, f in functions.functions.items()})
pulumi.export("alarms", sorted(alarms.alarms))
pulumi.export("dashboard", dashboard.name)
pulumi.export("runbooks", dict(catalog.RUNBOOKS))
