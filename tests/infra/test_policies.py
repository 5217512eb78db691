"""Policies over every resource the program declares, under Pulumi's mocks (issue 10 §3).

Each test runs the program afresh under ``@pulumi.runtime.test``; each policy counts what it
examined and reads values through ``Checks.value`` (an unknown value fails the policy)."""

from __future__ import annotations

import base64
import gzip
import json
import tomllib
from typing import Any

import pulumi
import pytest

from infra import catalog
from infra.alarms import CLOUDWATCH_ALARMS
from tests.infra.program import ACCOUNT, REGION, ROOT, Checks, Program, Registered, Unknown, run

BUCKET = "aws:s3/bucket:Bucket"
FUNCTION = "aws:lambda/function:Function"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _by_bucket(p: Program, typ: str, c: Checks) -> dict[str, Registered]:
    return {c.value(r, "bucket"): r for r in p.of(typ)}


def buckets_encrypted_versioned_private(p: Program, c: Checks) -> int:
    buckets = p.of(BUCKET)
    enc = _by_bucket(
        p,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        c,
    )
    ver = _by_bucket(p, "aws:s3/bucketVersioning:BucketVersioning", c)
    pab = _by_bucket(p, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", c)
    pol = _by_bucket(p, "aws:s3/bucketPolicy:BucketPolicy", c)
    life = _by_bucket(p, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", c)
    for b in buckets:
        c.examined += 1
        key = f"{b.name}-id"  # the others name the bucket by its id
        rule = c.value(enc[key], "rules")[0]["applyServerSideEncryptionByDefault"]
        c.that(rule["sseAlgorithm"] == "aws:kms" and bool(rule["kmsMasterKeyId"]), key)
        c.that(c.value(ver[key], "versioningConfiguration")["status"] == "Enabled", key)
        block = pab[key]
        c.that(
            all(
                c.value(block, k) is True
                for k in (
                    "blockPublicAcls",
                    "blockPublicPolicy",
                    "ignorePublicAcls",
                    "restrictPublicBuckets",
                )
            ),
            key,
        )
        deny = json.loads(c.value(pol[key], "policy"))["Statement"][0]
        c.that(
            deny["Effect"] == "Deny"
            and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}},
            f"{key}: non-TLS requests refused",
        )
        rules = c.value(life[key], "rules")
        c.that(
            any(
                r.get("abortIncompleteMultipartUpload", {}).get("daysAfterInitiation") == 1
                for r in rules
            ),
            f"{key}: incomplete multipart uploads aborted",
        )
    backups = next(r for r in p.of(BUCKET) if "backups" in r.name)
    rules = c.value(life[f"{backups.name}-id"], "rules")
    tiers = next(r for r in rules if r["id"] == "backup-tiers")
    days = sorted([t["days"] for t in tiers["transitions"]] + [tiers["expiration"]["days"]])
    c.that(days == [30, 90, 365], f"backup lifecycle follows the tiers 30/90/365: {days}")
    return 2


def database_encrypted_private_backed_up(p: Program, c: Checks) -> int:
    for db in p.of("aws:rds/instance:Instance"):
        c.examined += 1
        c.that(c.value(db, "storageEncrypted") is True, "encrypted")
        c.that(c.value(db, "publiclyAccessible") is False, "not public")
        c.that(c.value(db, "backupRetentionPeriod") >= 7, "backups kept")
        c.that(c.value(db, "deletionProtection") is True, "deletion protection")
        c.that(c.value(db, "skipFinalSnapshot") is False, "final snapshot")
        c.that(bool(c.value(db, "finalSnapshotIdentifier")), "final snapshot named")
    return 1


def _statements(doc: str) -> list[dict[str, Any]]:
    body = json.loads(doc)
    st = body["Statement"]
    return st if isinstance(st, list) else [st]


def no_wildcard_actions(p: Program, c: Checks) -> int:
    from infra.iam import REQUIRES_STAR_RESOURCE

    docs = [c.value(r, "policy") for r in p.of("aws:iam/rolePolicy:RolePolicy")]
    docs += [c.value(r, "assumeRolePolicy") for r in p.of("aws:iam/role:Role")]
    for doc in docs:
        c.examined += 1
        for st in _statements(doc):
            if st["Effect"] != "Allow":
                continue
            actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            for action in actions:
                c.that("*" not in action, f"wildcard action {action}")
            resources = st.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if "*" in resources:
                c.that(set(actions) <= REQUIRES_STAR_RESOURCE, f"'*' resource for {actions}")
    return len(p.of("aws:iam/rolePolicy:RolePolicy")) + len(p.of("aws:iam/role:Role"))


def every_function_logged_guarded_alarmed(p: Program, c: Checks) -> int:
    groups = {c.value(r, "name"): r for r in p.of("aws:cloudwatch/logGroup:LogGroup")}
    invoke = {
        c.value(r, "functionName"): r
        for r in p.of("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    }
    errors = {
        c.value(r, "dimensions")["FunctionName"]
        for r in p.of(ALARM)
        if r.inputs.get("metricName") == "Errors" and r.inputs.get("namespace") == "AWS/Lambda"
    }
    functions = p.of(FUNCTION)
    for fn in functions:
        c.examined += 1
        name = c.value(fn, "name")
        group = groups[f"/aws/lambda/{name}"]
        c.that(c.value(group, "retentionInDays") > 0, f"{name}: log retention")
        dest = c.value(invoke[name], "destinationConfig")["onFailure"]["destination"]
        c.that(dest.startswith("arn:aws:sqs:"), f"{name}: on-failure destination")
        c.that(name in errors, f"{name}: errors alarm")
        spec = catalog.function(name.removeprefix("edge-prod-"))
        limit = c.value(fn, "reservedConcurrentExecutions")
        c.that(limit == (spec.concurrency or -1), f"{name}: concurrency {limit}")
    return len(catalog.FUNCTIONS)


def schedules_as_the_seeds_set_them(p: Program, c: Checks) -> int:
    expected = {
        "backup": "cron(0 2 * * ? *)",  # 02:00 UTC daily
        "backup-verify": "cron(0 4 ? * MON *)",  # weekly
        "backup-drill": "cron(0 5 15 * ? *)",  # on the 15th
        "report-daily": "cron(15 0 * * ? *)",
        "report-weekly": "cron(0 6 ? * FRI *)",  # Friday
        "report-monthly": "cron(45 0 1 * ? *)",
        "prune": "cron(0 23 * * ? *)",  # 23:00 daily
        "probe": "rate(1 minute)",
    }
    rules = {
        c.value(r, "name"): c.value(r, "scheduleExpression")
        for r in p.of("aws:cloudwatch/eventRule:EventRule")
    }
    targets = {c.value(r, "rule") for r in p.of("aws:cloudwatch/eventTarget:EventTarget")}
    for fn, expression in expected.items():
        c.examined += 1
        rule = f"edge-prod-{fn}-0"
        c.that(rules.get(rule) == expression, f"{fn}: {rules.get(rule)} != {expression}")
        c.that(rule in targets, f"{fn}: the rule targets the function")
    rotation = {
        c.value(r, "rotationRules")["automaticallyAfterDays"]
        for r in p.of("aws:secretsmanager/secretRotation:SecretRotation")
    }
    c.that(rotation == {90}, f"token and password rotate every 90 days: {rotation}")
    c.examined += 1
    ages = json.loads(
        next(
            c.value(f, "environment")["variables"]["EDGE_OPS_SECRET_MAX_AGE_DAYS"]
            for f in p.of(FUNCTION)
            if f.inputs.get("name") == "edge-prod-secret-age"
        )
    )
    c.that(ages["rpc-keys"] == 180, "RPC keys: warned after 180 days")
    c.examined += 1
    return len(expected) + 2


def seed_thresholds_are_alarms(p: Program, c: Checks) -> int:
    alarms = {c.value(r, "name"): r for r in p.of(ALARM)}
    topics = {c.value(r, "name"): r for r in p.of("aws:sns/topic:Topic")}
    permissions = [
        r
        for r in p.of("aws:lambda/permission:Permission")
        if r.inputs.get("principal") == CLOUDWATCH_ALARMS
    ]
    seeded = catalog.seeded_alarms()
    for spec in seeded:
        c.examined += 1
        a = alarms[f"edge-prod-{spec.name}"]
        c.that(c.value(a, "threshold") == spec.threshold, f"{spec.name}: threshold")
        c.that(c.value(a, "comparisonOperator") == spec.comparison, f"{spec.name}: operator")
        actions = c.value(a, "alarmActions")
        topic = f"edge-prod-alerts-{spec.severity.value}"
        c.that(topics[topic].inputs["name"] in actions[0], f"{spec.name}: routed to {topic}")
        c.that(f"severity: {spec.severity.value}" in c.value(a, "alarmDescription"), spec.name)
        if spec.runbook:
            fn = f"edge-prod-{catalog.RUNBOOKS[spec.runbook]}"
            c.that(any(fn in x for x in actions[1:]), f"{spec.name}: runbook {fn}")
            c.that(
                any(
                    c.value(perm, "sourceArn").endswith(f"edge-prod-{spec.name}")
                    for perm in permissions
                ),
                f"{spec.name}: CloudWatch may invoke the runbook",
            )
    # missing probe data is breaching; the age of backups too
    for name in ("ProbeMissing", "NodeDown", "MarketDataStale", "BackupStale"):
        c.that(alarms[f"edge-prod-{name}"].inputs["treatMissingData"] == "breaching", name)
    return len(seeded)


def edge_host_hardened(p: Program, c: Checks) -> int:
    for vm in p.of("aws:ec2/instance:Instance"):
        c.examined += 1
        c.that(c.value(vm, "metadataOptions")["httpTokens"] == "required", "IMDSv2 only")
        c.that(c.value(vm, "rootBlockDevice")["encrypted"] is True, "encrypted volume")
        c.that("keyName" not in vm.inputs, "no SSH key pair")
        data = gzip.decompress(base64.b64decode(c.value(vm, "userDataBase64"))).decode()
        c.that("Restart=always" in data, "restart always")
        stop = int(data.split("TimeoutStopSec=")[1].split()[0])
        c.that(stop > 45, f"TimeoutStopSec {stop} longer than the drain timeout (45 s)")
    for sg in p.of("aws:ec2/securityGroup:SecurityGroup"):
        for rule in sg.inputs.get("ingress") or []:
            ssh = rule["protocol"] == "-1" or rule["fromPort"] <= 22 <= rule["toPort"]
            c.that(not ssh, f"{sg.name}: SSH open")
            c.that("0.0.0.0/0" not in rule.get("cidrBlocks", []), f"{sg.name}: open inbound")
    return 1


def edge_host_raises_its_events_to_the_critical_topic(p: Program, c: Checks) -> int:
    critical = f"arn:aws:sns:{REGION}:{ACCOUNT}:edge-prod-alerts-critical"
    [config] = [r for r in p.of("aws:ssm/parameter:Parameter") if r.name.endswith("-config")]
    c.examined += 1
    value = c.value(config, "value")
    # the provider marks an SSM parameter's value secret: the mock hands it over wrapped
    node = tomllib.loads(value["value"] if isinstance(value, dict) else value)
    c.that(node["alerts"]["sns_topic_arn"] == critical, f"node topic {node.get('alerts')}")
    # the operator's other settings survive beside it
    c.that(node["control"]["drain_timeout_s"] == 45, "the template's drain timeout kept")
    [host] = [
        r for r in p.of("aws:iam/rolePolicy:RolePolicy") if r.name.startswith("edge-prod-edge")
    ]
    c.examined += 1
    statements = json.loads(c.value(host, "policy"))["Statement"]
    publish = [s for s in statements if any(a.startswith("sns:") for a in s["Action"])]
    c.that(len(publish) == 1, f"one SNS statement on the host role: {publish}")
    c.that(publish[0]["Action"] == ["sns:Publish"], "the host role may only publish")
    topics = [f"arn:aws:sns:{REGION}:{ACCOUNT}:edge-prod-alerts-{s}" for s in catalog.Severity]
    c.that(critical in topics, "the node's own topic is a severity topic")
    c.that(sorted(publish[0]["Resource"]) == sorted(topics), f"the host publishes to {publish[0]}")
    return 2


SECRETS_IN_CONFIG = ("KEY-RPC-0001", "KEY-SLACK-0001", "KEY-PD-0001", "KEY-TG-0001")


def no_secret_as_a_literal(p: Program, c: Checks) -> int:
    # the config secrets reach only their secret versions, and those are marked secret
    for r in p.all():
        c.examined += 1
        text = json.dumps(r.inputs, default=str)
        if r.type == "aws:secretsmanager/secretVersion:SecretVersion":
            continue
        c.that(not any(s in text for s in SECRETS_IN_CONFIG), f"{r.name} carries a secret")
        c.that(
            "generated-password" not in text or r.type == "aws:rds/instance:Instance",
            f"{r.name} carries the database password",
        )
    # and the program's source holds none: every secret is generated or a config secret
    source = "\n".join(f.read_text() for f in (ROOT / "infra").glob("*.py"))
    for marker in ("hooks.slack.com/services/", "BEGIN PRIVATE KEY", 'password="', "AKIA"):
        c.that(marker not in source, f"literal {marker!r} in infra/")
    return len(p.recorder.resources)


POLICIES = [
    buckets_encrypted_versioned_private,
    database_encrypted_private_backed_up,
    no_wildcard_actions,
    every_function_logged_guarded_alarmed,
    schedules_as_the_seeds_set_them,
    seed_thresholds_are_alarms,
    edge_host_hardened,
    edge_host_raises_its_events_to_the_critical_topic,
    no_secret_as_a_literal,
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda f: f.__name__)
@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_policy(policy: Any, stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(policy)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_policy_fails_on_an_unknown_value(
    stack_config: tuple[dict[str, str], list[str]],
) -> Any:
    config, secret_keys = stack_config
    program = run(config, secret_keys)

    def reads_an_unset_input(p: Program, c: Checks) -> int:
        for b in p.of(BUCKET):
            c.examined += 1
            with pytest.raises(Unknown):
                c.value(b, "noSuchInput")
            c.that(True, "raised")
        return 2

    return program.check(reads_an_unset_input)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_a_policy_that_examined_nothing_fails(
    stack_config: tuple[dict[str, str], list[str]],
) -> Any:
    config, secret_keys = stack_config
    program = run(config, secret_keys)

    def examines_nothing(p: Program, c: Checks) -> int:
        for _ in p.of("aws:nothing/none:None"):
            c.examined += 1
        return 0

    async def expect_failure() -> None:
        with pytest.raises(AssertionError, match="no assertion ran"):
            await program.check(examines_nothing)

    return expect_failure()
