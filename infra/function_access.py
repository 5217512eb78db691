"""What each catalog function may touch and the settings it is given: the IAM statements each
``Access`` of the catalog grants (no wildcard action; a ``*`` resource only where AWS requires
it) and the environment its settings class reads. Pure: Pulumi inputs in, statements and
variables out; infra/functions.py attaches them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import catalog, iam
from infra.catalog import Access, Function, Severity
from infra.settings import AlertEmail


@dataclass(frozen=True)
class Targets:
    """What the functions reach: the ARNs their statements name and the settings they read."""

    key_arn: pulumi.Input[str]
    backups_bucket: pulumi.Input[str]
    backups_arn: pulumi.Input[str]
    reports_bucket: pulumi.Input[str]
    reports_arn: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]
    db_admin_secret_arn: pulumi.Input[str]  # the master's: the database rotation only
    token_secret_arn: pulumi.Input[str]
    rpc_secret_arn: pulumi.Input[str]
    alert_secret_arn: pulumi.Input[str]
    alert_table_arn: pulumi.Input[str]
    alert_table_name: pulumi.Input[str]
    alert_dlq_arn: pulumi.Input[str]
    alert_dlq_url: pulumi.Input[str]
    failures_arn: pulumi.Input[str]
    topics: dict[Severity, aws.sns.Topic]
    stop_flag_arn: pulumi.Input[str]
    stop_flag_name: pulumi.Input[str]
    instance_arn: pulumi.Input[str]
    instance_id: pulumi.Input[str]
    node_url: pulumi.Input[str]
    node_name: str
    run_shell_document_arn: str
    alert_email: AlertEmail | None = None
    runbook_table_arn: pulumi.Input[str] = ""
    runbook_table_name: pulumi.Input[str] = ""
    alarms_arn_prefix: pulumi.Input[str] = ""  # arn:aws:cloudwatch:<region>:<account>:alarm:


def _bucket_rw(bucket_arn: pulumi.Input[str], prefix: str | None) -> list[iam.Allow]:
    objects = pulumi.Output.from_input(bucket_arn).apply(
        lambda a: f"{a}/{prefix}/*" if prefix else f"{a}/*"
    )
    return [
        iam.Allow(
            ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"],
            [bucket_arn],
        ),
        iam.Allow(
            [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            [objects],
        ),
    ]


def _rotation(secret_arn: pulumi.Input[str]) -> list[iam.Allow]:
    return [
        iam.Allow(
            [
                "secretsmanager:DescribeSecret",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            [secret_arn],
        ),
        iam.Allow(["secretsmanager:GetRandomPassword"], ["*"]),
    ]


def access_statements(access: Access, t: Targets) -> list[iam.Allow]:
    """The statements one kind of access needs (kms is added once for all, see below)."""
    read = "secretsmanager:GetSecretValue"
    match access:
        case Access.BACKUPS_RW:
            return _bucket_rw(t.backups_arn, catalog.BACKUPS_PREFIX)
        case Access.BACKUPS_RO:
            objects = pulumi.Output.from_input(t.backups_arn).apply(
                lambda a: f"{a}/{catalog.BACKUPS_PREFIX}/*"
            )
            return [
                iam.Allow(["s3:ListBucket"], [t.backups_arn]),
                iam.Allow(["s3:GetObject"], [objects]),
            ]
        case Access.REPORTS_RW:
            return _bucket_rw(t.reports_arn, catalog.REPORTS_PREFIX)
        case Access.ARCHIVE_RW:
            return _bucket_rw(t.reports_arn, catalog.ARCHIVE_PREFIX)
        case Access.INCIDENTS_RW:
            return _bucket_rw(t.reports_arn, catalog.INCIDENTS_PREFIX)
        case Access.DB_SECRET:
            return [iam.Allow([read], [t.db_secret_arn])]
        case Access.DB_ADMIN_SECRET:
            return [iam.Allow([read], [t.db_admin_secret_arn])]
        case Access.API_TOKEN | Access.PROBE_NODE:
            return [iam.Allow([read], [t.token_secret_arn])]
        case Access.RPC_KEYS:
            return [iam.Allow([read], [t.rpc_secret_arn])]
        case Access.ALERT_SECRET:
            return [iam.Allow([read], [t.alert_secret_arn])]
        case Access.ALERT_TABLE:
            return [
                iam.Allow(
                    [
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:DeleteItem",
                    ],
                    [t.alert_table_arn],
                )
            ]
        case Access.ALERT_DLQ:
            # the fan-out only parks what it cannot deliver; a redrive is an operator's
            # `edge-ops alert redrive` with their own credentials
            return [iam.Allow(["sqs:SendMessage"], [t.alert_dlq_arn])]
        case Access.ALERT_EMAIL:
            if t.alert_email is None:
                return []  # no e-mail channel configured: no SES permission at all
            return [iam.Allow(["ses:SendEmail"], [t.alert_email.identity_arn])]
        case Access.NOTIFY:
            return [iam.Allow(["sns:Publish"], [t.topics[Severity.LOW].arn])]
        case Access.ROTATE_DB:
            return _rotation(t.db_secret_arn)
        case Access.ROTATE_TOKEN:
            return _rotation(t.token_secret_arn)
        case Access.SECRET_AGE:
            return [
                iam.Allow(
                    # the versions' creation times are the values' ages (no value is read)
                    ["secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
                    [t.token_secret_arn, t.db_secret_arn, t.rpc_secret_arn],
                )
            ]
        case Access.STOP_FLAG:
            return [iam.Allow(["ssm:GetParameter", "ssm:PutParameter"], [t.stop_flag_arn])]
        case Access.RUNBOOK_LOCKS:
            return [
                iam.Allow(
                    ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"],
                    [t.runbook_table_arn],
                ),
                # an escalation also reaches the critical topic (its e-mail needs no fan-out)
                iam.Allow(["sns:Publish"], [t.topics[Severity.CRITICAL].arn]),
            ]
        case Access.ALARM_STATE:
            alarms = pulumi.Output.concat(t.alarms_arn_prefix, "*")
            return [iam.Allow(["cloudwatch:DescribeAlarms"], [alarms])]
        case Access.RUN_COMMAND:
            return [
                iam.Allow(["ssm:SendCommand"], [t.instance_arn, t.run_shell_document_arn]),
                iam.Allow(["ssm:GetCommandInvocation"], ["*"]),
            ]
    raise AssertionError(f"no statements for {access}")  # pragma: no cover


KMS_USERS = {
    Access.BACKUPS_RW, Access.BACKUPS_RO, Access.REPORTS_RW, Access.ARCHIVE_RW,
    Access.INCIDENTS_RW, Access.DB_SECRET, Access.DB_ADMIN_SECRET,
    Access.API_TOKEN, Access.PROBE_NODE, Access.RPC_KEYS, Access.ALERT_SECRET, Access.ROTATE_DB,
    Access.ROTATE_TOKEN,
}  # fmt: skip


DB_CONNECTING = {Access.DB_SECRET, Access.ROTATE_DB}


def environment(fn: Function, prefix: str, t: Targets) -> dict[str, pulumi.Input[str]]:
    """The settings a function reads (EDGE_OPS_..., functions/common/settings.py and each
    function's own settings class)."""
    env: dict[str, pulumi.Input[str]] = {"EDGE_OPS_ENVIRONMENT": prefix}
    a = set(fn.access)
    s3 = pulumi.Output.concat
    if Access.DB_SECRET in a:
        env["EDGE_OPS_DATABASE_SECRET_ID"] = t.db_secret_arn
    if a & DB_CONNECTING:
        env["PGSSLMODE"] = catalog.PGSSLMODE
    if Access.BACKUPS_RW in a or Access.BACKUPS_RO in a:
        env["EDGE_OPS_BACKUP_LOCATION"] = s3(
            "s3://", t.backups_bucket, f"/{catalog.BACKUPS_PREFIX}"
        )
    if Access.BACKUPS_RW in a:  # the writers: functions/backup/ops.py BackupSettings
        env["EDGE_OPS_BACKUP_SSE"] = "aws:kms"
        env["EDGE_OPS_BACKUP_KMS_KEY_ID"] = t.key_arn
        env["EDGE_OPS_BACKUP_TMP_DIR"] = "/tmp"  # noqa: S108 (Lambda's only writable place)
    if Access.REPORTS_RW in a:
        env["EDGE_OPS_REPORT_TO"] = s3("s3://", t.reports_bucket, f"/{catalog.REPORTS_PREFIX}")
    if Access.ARCHIVE_RW in a:
        env["EDGE_OPS_PRUNE_ARCHIVE_TO"] = s3(
            "s3://", t.reports_bucket, f"/{catalog.ARCHIVE_PREFIX}"
        )
    if Access.INCIDENTS_RW in a:  # the runbooks' incident reports
        env["EDGE_OPS_INCIDENTS_TO"] = s3("s3://", t.reports_bucket, f"/{catalog.INCIDENTS_PREFIX}")
    if Access.NOTIFY in a:
        env["EDGE_OPS_NOTIFY_TOPIC_ARN"] = t.topics[Severity.LOW].arn
    if Access.ALERT_SECRET in a:
        env["EDGE_OPS_ALERT_SECRET_ID"] = t.alert_secret_arn
    if Access.ALERT_TABLE in a:
        env["EDGE_OPS_ALERT_IDEMPOTENCY_TABLE"] = t.alert_table_name
    if Access.ALERT_DLQ in a:
        env["EDGE_OPS_ALERT_DLQ_URL"] = t.alert_dlq_url
    if Access.ALERT_EMAIL in a and t.alert_email is not None:
        env["EDGE_OPS_ALERT_EMAIL_FROM"] = t.alert_email.sender
        env["EDGE_OPS_ALERT_EMAIL_TO"] = ",".join(t.alert_email.recipients)
    if Access.API_TOKEN in a:  # functions/runbook/settings.py
        env["EDGE_OPS_NODE_URL"] = t.node_url
        env["EDGE_OPS_API_TOKEN_SECRET_ID"] = t.token_secret_arn
    if Access.PROBE_NODE in a:  # functions/probe/settings.py
        env["EDGE_OPS_NODE_URL"] = t.node_url
        env["EDGE_OPS_NODE_NAME"] = t.node_name
        env["EDGE_OPS_NODE_TOKEN_SECRET_ID"] = t.token_secret_arn
    if Access.ROTATE_TOKEN in a:  # functions/rotation/settings.py: testSecret asks the node
        env["EDGE_OPS_NODE_URL"] = t.node_url
    if Access.RPC_KEYS in a:
        env["EDGE_OPS_RPC_ENDPOINTS_SECRET_ID"] = t.rpc_secret_arn
    if Access.STOP_FLAG in a:
        env["EDGE_OPS_STOP_PARAMETER"] = t.stop_flag_name
    if Access.RUN_COMMAND in a:
        env["EDGE_OPS_EDGE_INSTANCE_ID"] = t.instance_id
    if Access.RUNBOOK_LOCKS in a:
        env["EDGE_OPS_RUNBOOK_TABLE"] = t.runbook_table_name
        env["EDGE_OPS_ESCALATE_TOPIC_ARN"] = t.topics[Severity.CRITICAL].arn
    if Access.SECRET_AGE in a:
        env["EDGE_OPS_SECRET_IDS"] = pulumi.Output.json_dumps(
            {
                "api-token": t.token_secret_arn,
                "db-credentials": t.db_secret_arn,
                "rpc-keys": t.rpc_secret_arn,
            }
        )
        env["EDGE_OPS_SECRET_MAX_AGE_DAYS"] = pulumi.Output.json_dumps(catalog.SECRET_MAX_AGE_DAYS)
    env.update(dict(fn.env))
    return env
