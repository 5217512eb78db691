"""The database's two logins under Pulumi's mocks: the application's secret (what the node and
the functions read) names the administrator's secret through ``masterarn``; only the database
rotation may read the administrator's; both are encrypted with the stack's key; the rotations
keep their schedules and run at once; the token's rotation can reach the node it tests."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pulumi
import pytest

from infra import catalog
from infra.secrets import DB_ADMIN_USERNAME, DB_APP_USERNAME
from tests.infra.program import ACCOUNT, REGION, Checks, Program, Registered, run

PREFIX = "edge-prod"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
POLICY = "aws:iam/rolePolicy:RolePolicy"
FUNCTION = "aws:lambda/function:Function"
ADMIN_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:{PREFIX}/db-admin"
APP_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:{PREFIX}/db-credentials"
Config = tuple[dict[str, str], list[str]]


def _one(p: Program, typ: str, name: str) -> Registered:
    (r,) = [r for r in p.of(typ) if r.name == name]
    return r


def _plain(value: Any) -> Any:
    # a secret input reaches the mock wrapped ({<sig>: ..., "value": ...})
    return value["value"] if isinstance(value, dict) and "value" in value else value


def _secret_text(c: Checks, r: Registered) -> dict[str, Any]:
    return dict(json.loads(_plain(c.value(r, "secretString"))))


def _stack_key_arn(p: Program) -> str:
    (key,) = p.of("aws:kms/key:Key")
    return str(key.state["arn"])


def two_logins_in_two_secrets(p: Program, c: Checks) -> int:
    key = _stack_key_arn(p)
    secrets = {c.value(r, "name"): r for r in p.of(SECRET)}
    admin, app = secrets[f"{PREFIX}/db-admin"], secrets[f"{PREFIX}/db-credentials"]
    for s in (admin, app):
        c.examined += 1
        c.that(c.value(s, "kmsKeyId") == key, f"{s.name}: encrypted with the stack's key")

    db = p.of("aws:rds/instance:Instance")[0]
    versions = {c.value(v, "secretId"): v for v in p.of(VERSION)}
    c.examined += 1
    master = _secret_text(c, versions[f"{admin.name}-id"])
    c.that(master["username"] == DB_ADMIN_USERNAME == c.value(db, "username"), "the master")
    c.that(master["password"] == _plain(c.value(db, "password")), "the master's password is RDS's")
    c.examined += 1
    first = _secret_text(c, versions[f"{app.name}-id"])
    c.that(first["masterarn"] == ADMIN_ARN, f"masterarn {first['masterarn']}")
    c.that(first["username"] == DB_APP_USERNAME != DB_ADMIN_USERNAME, "the application's role")
    c.that(first["password"] != master["password"], "its own password")
    c.that(first["password"].startswith("generated-password-"), "a generated password")
    # the shape functions/rotation/database.py reads, on the same server and database
    shape = {"engine", "host", "port", "username", "password", "dbname"}
    c.that(shape <= master.keys() and shape | {"masterarn"} == first.keys(), str(first.keys()))
    same = ("engine", "host", "port", "dbname")
    c.that([first[k] for k in same] == [master[k] for k in same], "the same database")
    c.that(master["host"] == "db.internal" and master["port"] == 5432, "the instance's address")
    return c.examined


def only_the_database_rotation_reads_the_admin_secret(p: Program, c: Checks) -> int:
    readers = set()
    policies = p.of(POLICY)
    for policy in policies:
        c.examined += 1
        for st in json.loads(c.value(policy, "policy"))["Statement"]:
            secrets_actions = [a for a in st["Action"] if a.startswith("secretsmanager:")]
            reaches = ADMIN_ARN in st["Resource"] or "*" in st["Resource"]
            if (
                secrets_actions
                and reaches
                and secrets_actions != ["secretsmanager:GetRandomPassword"]
            ):
                readers.add(policy.name)
    rotation = f"{PREFIX}-functions-rotate-database-policy"
    c.that(readers == {rotation}, f"the admin secret's readers: {readers}")
    grants: dict[str, set[str]] = {}
    for st in json.loads(c.value(_one(p, POLICY, rotation), "policy"))["Statement"]:
        for action in st["Action"]:
            grants.setdefault(action, set()).update(st["Resource"])
    c.that(grants["secretsmanager:GetSecretValue"] == {ADMIN_ARN, APP_ARN}, "reads both")
    c.that(grants["secretsmanager:PutSecretValue"] == {APP_ARN}, "rotates the app's only")
    c.that(grants["kms:Decrypt"] == {_stack_key_arn(p)}, "decrypts with the stack's key")
    # nobody is handed the admin secret's id either: the rotation finds it in masterarn
    for fn in p.of(FUNCTION):
        c.that(ADMIN_ARN not in json.dumps(c.value(fn, "environment")), fn.name)
    host = _one(p, "aws:ec2/instance:Instance", f"{PREFIX}-edge-instance")
    boot = gzip.decompress(base64.b64decode(c.value(host, "userDataBase64"))).decode()
    c.that("db-admin" not in boot, "the host is not told of it")
    return len(policies)


def rotations_on_their_schedules_and_at_once(p: Program, c: Checks) -> int:
    rotations = p.of("aws:secretsmanager/secretRotation:SecretRotation")
    by_secret = {c.value(r, "secretId"): r for r in rotations}
    expected = {  # seed 002: tokens and database passwords every 90 days (catalog.ROTATION)
        f"{PREFIX}-secrets-api-token-id": (90, "rotate-api-token"),
        f"{PREFIX}-secrets-db-credentials-id": (90, "rotate-database"),
    }
    c.that(set(by_secret) == set(expected), f"rotated: {sorted(by_secret)}")
    c.that(
        {role: v for role, v in catalog.ROTATION.items() if v[0]}
        == {"api-token": (90, "rotate-api-token"), "db-credentials": (90, "rotate-database")},
        str(catalog.ROTATION),
    )
    for secret, (days, fn) in expected.items():
        c.examined += 1
        r = by_secret[secret]
        c.that(c.value(r, "rotationRules")["automaticallyAfterDays"] == days, secret)
        c.that(c.value(r, "rotateImmediately") is True, f"{secret}: rotated at once")
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:{PREFIX}-{fn}"
        c.that(c.value(r, "rotationLambdaArn") == arn, f"{secret}: by {fn}")
    return len(expected)


def token_rotation_reaches_the_node(p: Program, c: Checks) -> int:
    fn = _one(p, FUNCTION, f"{PREFIX}-functions-rotate-api-token")
    c.examined += 1
    env = c.value(fn, "environment")["variables"]
    c.that(env.get("EDGE_OPS_NODE_URL") == "http://10.60.0.10:8080", f"node url {env}")
    vpc = c.value(fn, "vpcConfig")
    functions_sg = f"{PREFIX}-network-functions-sg-id"
    c.that(vpc["securityGroupIds"] == [functions_sg], str(vpc))
    private = [f"{PREFIX}-network-private-{i}-id" for i in (0, 1)]
    c.that(vpc["subnetIds"] == private, str(vpc))
    sg = _one(p, "aws:ec2/securityGroup:SecurityGroup", f"{PREFIX}-edge-sg")
    c.examined += 1
    admitted = [
        rule
        for rule in c.value(sg, "ingress")
        if functions_sg in rule.get("securityGroups", [])
        and rule["fromPort"] <= 8080 <= rule["toPort"]
    ]
    c.that(len(admitted) == 1, "the edge host admits the functions' group on its API port")
    return 2


POLICIES = [
    two_logins_in_two_secrets,
    only_the_database_rotation_reads_the_admin_secret,
    rotations_on_their_schedules_and_at_once,
    token_rotation_reaches_the_node,
]


@pytest.mark.parametrize("policy", POLICIES, ids=lambda f: f.__name__)
@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_policy(policy: Any, stack_config: Config) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(policy)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_masterarn_is_the_admin_secret_through_the_outputs(stack_config: Config) -> Any:
    """The same, read from the components' outputs as the program wires them."""
    config, secret_keys = stack_config
    ns = run(config, secret_keys).outputs
    secrets, database, storage = ns["secrets"], ns["database"], ns["storage"]

    def check(values: list[Any]) -> None:
        admin_arn, admin_key, app_key, key_arn, app_text = values
        first = json.loads(app_text)
        assert first["masterarn"] == admin_arn == ADMIN_ARN
        assert first["username"] == DB_APP_USERNAME
        assert admin_key == app_key == key_arn

    return pulumi.Output.all(
        secrets.db_admin.arn,
        secrets.db_admin.kms_key_id,
        secrets.db_credentials.kms_key_id,
        storage.key_arn,
        database.app_credentials,
    ).apply(check)
