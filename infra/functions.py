"""The Lambda functions of the catalog: each from its artifact (``make functions`` builds
dist/functions/<package>.zip, functions/packaging.py), with its own role (the statements its
catalog access asks for, and no more), a log group with retention, an on-failure destination
(the failed-invocations queue), a concurrency limit where two runs must not overlap, its
schedules, and the VPC where it must reach the database or the edge host. What each may
touch and the settings it gets: infra/function_access.py. Which topics invoke which
functions: infra/alert_subscriptions.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from infra import catalog, iam
from infra.catalog import Function, Network
from infra.function_access import KMS_USERS, Targets, access_statements, environment
from infra.naming import child

RUNTIME = "python3.12"  # functions/packaging.py RUNTIME
ARCHITECTURE = "x86_64"  # functions/packaging.py ARCHITECTURE
ASYNC_RETRIES = 2


class ArtifactsMissing(pulumi.RunError):
    """Function artifacts are not built: run ``make functions`` (or set artifactsDir)."""


@dataclass(frozen=True)
class FunctionsArgs:
    prefix: str
    artifacts_dir: Path
    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_id: pulumi.Input[str]
    targets: Targets
    log_retention_days: int
    functions: Sequence[Function] = catalog.FUNCTIONS


def missing_artifacts(artifacts_dir: Path, functions: Sequence[Function]) -> list[str]:
    return sorted(
        {f.package for f in functions if not (artifacts_dir / f"{f.package}.zip").is_file()}
    )


class Functions(pulumi.ComponentResource):
    functions: dict[str, aws.lambda_.Function]

    def __init__(
        self, name: str, args: FunctionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Functions", name, None, opts)
        missing = missing_artifacts(args.artifacts_dir, args.functions)
        if missing:
            raise ArtifactsMissing(
                f"no artifact for {', '.join(missing)} in {args.artifacts_dir}: run "
                "`make functions` first (or set edge-node:artifactsDir)"
            )
        self.functions = {}
        self.log_groups: dict[str, aws.cloudwatch.LogGroup] = {}
        for fn in args.functions:
            self.functions[fn.name] = self._function(name, fn, args)
        self.register_outputs({n: f.arn for n, f in self.functions.items()})

    def _function(self, name: str, fn: Function, args: FunctionsArgs) -> aws.lambda_.Function:
        t = args.targets
        here = pulumi.ResourceOptions(parent=self)
        base = child(name, fn.name)
        fn_name = f"{args.prefix}-{fn.name}"
        logs = aws.cloudwatch.LogGroup(
            child(base, "logs"),
            name=f"/aws/lambda/{fn_name}",
            retention_in_days=args.log_retention_days,
            opts=here,
        )
        self.log_groups[fn.name] = logs
        statements = [
            iam.Allow(
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [logs.arn.apply(lambda a: f"{a}:log-stream:*")],
            ),
            iam.Allow(["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
            iam.Allow(["sqs:SendMessage"], [t.failures_arn]),  # the on-failure destination
        ]
        if fn.network is Network.VPC:
            statements.append(
                iam.Allow(
                    [
                        "ec2:CreateNetworkInterface",
                        "ec2:DescribeNetworkInterfaces",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    ["*"],
                )
            )
        for access in fn.access:
            statements += access_statements(access, t)
        if KMS_USERS & set(fn.access):
            statements.append(iam.Allow(["kms:Decrypt", "kms:GenerateDataKey"], [t.key_arn]))
        role = aws.iam.Role(
            child(base, "role"),
            assume_role_policy=iam.assume_role("lambda.amazonaws.com"),
            opts=here,
        )
        policy = aws.iam.RolePolicy(
            child(base, "policy"), role=role.id, policy=iam.document(statements), opts=here
        )
        vpc = (
            aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=list(args.subnet_ids), security_group_ids=[args.security_group_id]
            )
            if fn.network is Network.VPC
            else None
        )
        function = aws.lambda_.Function(
            base,
            name=fn_name,
            role=role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=fn.handler,
            code=pulumi.FileArchive(str(args.artifacts_dir / f"{fn.package}.zip")),
            timeout=fn.timeout_s,
            memory_size=fn.memory_mb,
            reserved_concurrent_executions=fn.concurrency if fn.concurrency else -1,
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables=environment(fn, args.prefix, t)
            ),
            vpc_config=vpc,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text",
                log_group=logs.name,  # powertools writes JSON and EMF itself
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs, policy]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            child(base, "async"),
            function_name=function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=t.failures_arn
                )
            ),
            opts=here,
        )
        for i, expression in enumerate(fn.schedules):
            rule = aws.cloudwatch.EventRule(
                child(base, f"schedule-{i}"),
                name=f"{fn_name}-{i}",
                schedule_expression=expression,
                description=f"{fn.name}: {fn.seed}"[:512],
                opts=here,
            )
            allowed = aws.lambda_.Permission(
                child(base, f"schedule-{i}-invoke"),
                action="lambda:InvokeFunction",
                function=function.name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
                opts=here,
            )
            aws.cloudwatch.EventTarget(
                child(base, f"schedule-{i}-target"),
                rule=rule.name,
                arn=function.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]),
            )
        return function
