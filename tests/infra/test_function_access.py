"""What each built function may touch, under Pulumi's mocks: exactly its buckets' prefixes, its
secrets, its queue and table, its topic, and the VPC where it reaches the database or the node;
and what the fan-out needs provisioned (table, dead-letter queue, SES only when configured,
every severity topic subscribed, the dead-letter alarm)."""

from __future__ import annotations

import json
from typing import Any

import pulumi

from infra import catalog
from infra.monitoring import alert_rules, alertmanager_sns, subscription_plan
from tests.infra.program import Checks, Program, Registered, run

Grants = dict[str, set[str]]  # action -> resources
PREFIX = "edge-prod"


def grants(p: Program, c: Checks, fn: str) -> Grants:
    (policy,) = [
        r
        for r in p.of("aws:iam/rolePolicy:RolePolicy")
        if r.name == f"{PREFIX}-functions-{fn}-policy"
    ]
    out: Grants = {}
    for st in json.loads(c.value(policy, "policy"))["Statement"]:
        for action in st["Action"]:
            out.setdefault(action, set()).update(st["Resource"])
    return out


def _function(p: Program, fn: str) -> Registered:
    return next(
        r for r in p.of("aws:lambda/function:Function") if r.name == f"{PREFIX}-functions-{fn}"
    )


def _secrets_read(g: Grants) -> set[str]:
    return {r.rsplit(":", 1)[1] for r in g.get("secretsmanager:GetSecretValue", set())}


def _objects(g: Grants, action: str) -> set[str]:
    return {r.rsplit(":", 1)[1] for r in g.get(action, set())}


# function -> (secrets it reads, objects it writes, objects it reads, in the VPC)
EXPECTED: dict[str, tuple[set[str], set[str], set[str], bool]] = {
    "backup": (
        {f"{PREFIX}/db-credentials"},
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        True,
    ),
    "backup-retention": (
        set(),
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        False,
    ),
    "backup-verify": (
        {f"{PREFIX}/db-credentials"},
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        True,
    ),
    "report-weekly": (
        {f"{PREFIX}/db-credentials"},
        {f"{PREFIX}-storage-reports-bucket/reports/*"},
        {f"{PREFIX}-storage-reports-bucket/reports/*"},
        True,
    ),
    "prune": (
        {f"{PREFIX}/db-credentials"},
        {f"{PREFIX}-storage-reports-bucket/archive/*"},
        {f"{PREFIX}-storage-reports-bucket/archive/*"},
        True,
    ),
    "probe": (
        {f"{PREFIX}/api-token", f"{PREFIX}/rpc-endpoints"},
        set(),
        {f"{PREFIX}-storage-backups-bucket/backups/*"},
        True,
    ),
    "fanout": ({f"{PREFIX}/alert-channels"}, set(), set(), False),
    # the rotations: the node's token (testSecret asks the node), and the application's
    # credentials with the master's (masterarn), which nothing else reads
    "rotate-api-token": ({f"{PREFIX}/api-token"}, set(), set(), True),
    "rotate-database": ({f"{PREFIX}/db-credentials", f"{PREFIX}/db-admin"}, set(), set(), True),
}


def each_function_reaches_only_its_own(p: Program, c: Checks) -> int:
    for fn, (secrets, writes, reads, vpc) in EXPECTED.items():
        c.examined += 1
        g = grants(p, c, fn)
        c.that(_secrets_read(g) == secrets, f"{fn} reads secrets {_secrets_read(g)}")
        c.that(_objects(g, "s3:PutObject") == writes, f"{fn} writes {_objects(g, 's3:PutObject')}")
        c.that(_objects(g, "s3:GetObject") == reads, f"{fn} reads {_objects(g, 's3:GetObject')}")
        in_vpc = _function(p, fn).inputs.get("vpcConfig") is not None
        c.that(in_vpc == vpc, f"{fn}: in the VPC {in_vpc}")
        c.that(("ec2:CreateNetworkInterface" in g) == vpc, f"{fn}: ENI rights only in the VPC")
    # the report announces on the low topic only; the probe publishes nothing
    topics = grants(p, c, "report-daily")["sns:Publish"]
    c.that(topics == {f"arn:aws:sns:eu-west-1:123456789012:{PREFIX}-alerts-low"}, str(topics))
    c.that("sns:Publish" not in grants(p, c, "probe"), "probe publishes")
    return len(EXPECTED)


def fanout_provisioned(p: Program, c: Checks) -> int:
    g = grants(p, c, "fanout")
    c.examined += 1
    table = f"arn:aws:dynamodb:eu-west-1:123456789012:{PREFIX}-alert-idempotency"
    dlq = f"arn:aws:sqs:eu-west-1:123456789012:{PREFIX}-alerts-dlq"
    items = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    c.that(all(g.get(a) == {table} for a in items), "the table's items, on that table only")
    c.that(
        g.get("sqs:SendMessage")
        == {dlq, f"arn:aws:sqs:eu-west-1:123456789012:{PREFIX}-function-failures"},
        str(g.get("sqs:SendMessage")),
    )
    c.that("sqs:ReceiveMessage" not in g and "sqs:DeleteMessage" not in g, "no redrive rights")
    c.that(not any(a.startswith("ses:") for a in g), "no SES without alertEmail")
    c.that(not any(a.startswith("s3:") for a in g), "no bucket")
    env = c.value(_function(p, "fanout"), "environment")["variables"]
    c.that(not any(k.startswith("EDGE_OPS_ALERT_EMAIL") for k in env), "no e-mail settings")
    c.that(env["EDGE_OPS_ALERT_DLQ_URL"].endswith(f"/{PREFIX}-alerts-dlq"), "DLQ url")

    c.examined += 1
    (tbl,) = [
        t
        for t in p.of("aws:dynamodb/table:Table")
        if t.inputs["name"] == f"{PREFIX}-alert-idempotency"
    ]
    c.that(c.value(tbl, "hashKey") == "id", "key id")
    c.that(c.value(tbl, "ttl") == {"attributeName": "expiration", "enabled": True}, "TTL")

    c.examined += 1
    fanout_arn = f"arn:aws:lambda:eu-west-1:123456789012:{PREFIX}-fanout"
    subscribed = {
        c.value(s, "topic")
        for s in p.of("aws:sns/topicSubscription:TopicSubscription")
        if s.inputs.get("protocol") == "lambda" and c.value(s, "endpoint") == fanout_arn
    }
    topics = {
        f"arn:aws:sns:eu-west-1:123456789012:{PREFIX}-alerts-{s.value}" for s in catalog.Severity
    }
    c.that(subscribed == topics, f"every severity topic reaches the fan-out: {subscribed}")
    allowed = {
        c.value(r, "sourceArn")
        for r in p.of("aws:lambda/permission:Permission")
        if r.inputs.get("principal") == "sns.amazonaws.com"
    }
    c.that(allowed == topics, "SNS may invoke it from each topic")

    c.examined += 1
    alarm = next(
        r
        for r in p.of("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.inputs.get("name") == f"{PREFIX}-AlertsDeadLettered"
    )
    c.that(c.value(alarm, "metricName") == "AlertsDeadLettered", "metric")
    c.that(
        c.value(alarm, "dimensions") == {"service": "fanout", "environment": PREFIX},
        "the fan-out's dimensions, as it publishes them",
    )
    c.that(f"{PREFIX}-alerts-critical" in c.value(alarm, "alarmActions")[0], "critical")
    return 4


def probe_alarms_per_node_and_endpoint(p: Program, c: Checks) -> int:
    alarms = {c.value(r, "name"): r for r in p.of("aws:cloudwatch/metricAlarm:MetricAlarm")}
    c.examined += 1
    node_down = alarms[f"{PREFIX}-NodeDown"]
    c.that(
        c.value(node_down, "dimensions")
        == {"service": "probe", "environment": PREFIX, "Check": "healthz", "Node": "edge"},
        str(node_down.inputs["dimensions"]),
    )
    for endpoint in ("primary", "backup-rpc"):
        c.examined += 1
        lag = alarms[f"{PREFIX}-RpcHeadLag-{endpoint}"]
        c.that(c.value(lag, "dimensions")["Endpoint"] == endpoint, endpoint)
        c.that(c.value(lag, "metricName") == "RpcHeadLagBlocks", endpoint)
    c.that(f"{PREFIX}-RpcHeadLag" not in alarms, "no alarm on an endpoint placeholder")
    env = c.value(_function(p, "probe"), "environment")["variables"]
    c.that(env["EDGE_OPS_NODE_NAME"] == "edge", "the probe's node name is the alarms'")
    return 3


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_each_function_reaches_only_its_own(stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(each_function_reaches_only_its_own)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_fanout_provisioned(stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(fanout_provisioned)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_probe_alarms_per_node_and_endpoint(stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(probe_alarms_per_node_and_endpoint)


IDENTITY = "arn:aws:ses:eu-west-1:123456789012:identity/example.com"


def fanout_email_when_configured(p: Program, c: Checks) -> int:
    c.examined += 1
    g = grants(p, c, "fanout")
    c.that(
        g.get("ses:SendEmail") == {IDENTITY}, f"SES on the identity only: {g.get('ses:SendEmail')}"
    )
    env = c.value(_function(p, "fanout"), "environment")["variables"]
    c.that(env["EDGE_OPS_ALERT_EMAIL_FROM"] == "alerts@example.com", "from")
    c.that(env["EDGE_OPS_ALERT_EMAIL_TO"] == "ops@example.com,cto@example.com", "to")
    c.that(not any(a.startswith("ses:") for a in grants(p, c, "report-daily")), "only the fan-out")
    return 1


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_fanout_email_when_configured(stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    config["edge-node:alertEmail"] = json.dumps(
        {
            "from": "alerts@example.com",
            "to": ["ops@example.com", "cto@example.com"],
            "identityArn": IDENTITY,
        }
    )
    return run(config, secret_keys).check(fanout_email_when_configured)


def runbooks_subscribed(p: Program, c: Checks) -> int:
    """Each runbook the Prometheus rules name hears its rules' topics, filtered to firing
    alerts naming it; no other function but the fan-out is subscribed to an alert topic."""
    expected = alertmanager_sns.runbook_topics(alert_rules.rules())
    c.that(bool(expected), "the rules name runbooks")
    got: dict[str, set[str]] = {}
    made: set[tuple[str, str]] = set()  # (function, topic's severity)
    for s in p.of("aws:sns/topicSubscription:TopicSubscription"):
        if s.inputs.get("protocol") != "lambda":
            continue
        fn = c.value(s, "endpoint").rsplit(":", 1)[1].removeprefix(f"{PREFIX}-")
        made.add((fn, c.value(s, "topic").rsplit(f"{PREFIX}-alerts-", 1)[1]))
        if fn == "fanout":
            c.that(s.inputs.get("filterPolicy") is None, "the fan-out hears everything")
            continue
        c.examined += 1
        runbook = next(r for r, f in catalog.RUNBOOKS.items() if f == fn)
        policy = json.loads(c.value(s, "filterPolicy"))
        c.that(policy == alertmanager_sns.runbook_filter_policy(runbook), f"{fn}: {policy}")
        c.that(policy["status"] == ["firing"], "a resolution never starts a runbook")
        c.that(c.value(s, "filterPolicyScope") == "MessageAttributes", "attributes scope")
        topic = c.value(s, "topic").rsplit(f"{PREFIX}-alerts-", 1)[1]
        got.setdefault(runbook, set()).add(topic)
    c.that(got == expected, f"runbook topics {got} != {expected}")
    # exactly the one plan the laptop makes too (infra/monitoring/subscription_plan.py)
    planned = {(s.function, s.severity) for s in subscription_plan.plan(expected)}
    c.that(made == planned, f"subscriptions {sorted(made ^ planned)} differ from the plan")
    c.that("pause-trading" in got, "RpcHeadLag's runbook is reached")
    return c.examined


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_runbooks_hear_the_alerts_naming_them(
    stack_config: tuple[dict[str, str], list[str]],
) -> Any:
    return run(*stack_config, stack="prod").check(runbooks_subscribed)
