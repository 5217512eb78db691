"""The API token's rotation, driven step by step as Secrets Manager drives it (moto)."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.rotation.staging import RotationRefused, Step
from functions.rotation.steps import abandon
from functions.rotation.token import PendingSecretRefused
from tests.functions.rotation.node_stub import node_stub
from tests.support.rotation import PreviousRotationIncomplete, SecretsManagerDriver

NAME = "edge/api-token"
KIND: Any = [{"Key": "edge-ops:secret-kind", "Value": "api-token"}]


def make_token_secret(aws: AwsClients, name: str = NAME) -> str:
    value = secrets.token_hex(32)
    aws.secretsmanager.create_secret(Name=name, SecretString=value, Tags=KIND)
    return value


def value(aws: AwsClients, stage: str, name: str = NAME) -> str:
    return aws.secretsmanager.get_secret_value(SecretId=name, VersionStage=stage)["SecretString"]


def labels(aws: AwsClients, name: str = NAME) -> dict[str, list[str]]:
    stages = aws.secretsmanager.describe_secret(SecretId=name)["VersionIdsToStages"]
    return {k: sorted(v) for k, v in stages.items() if v}


def actions(driver: SecretsManagerDriver) -> list[tuple[str, str]]:
    return [(r["step"], r["action"]) for r in driver.results]


def fail_once(aws: AwsClients, event: str) -> list[int]:
    """Make the next AWS call matching ``event`` ("before-call..." or "after-call...") fail
    once, as a dropped connection or a function killed at that point would."""
    fired: list[int] = []

    def boom(**_: Any) -> None:
        if not fired:
            fired.append(1)
            raise ConnectionError("interrupted")

    aws.secretsmanager.meta.events.register(event, boom)
    return fired


def test_four_steps_each_replayed(
    driver: SecretsManagerDriver, aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    old = make_token_secret(aws)
    token = driver.rotate(NAME, replay=True)
    new = value(aws, "AWSCURRENT")
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != old
    assert value(aws, "AWSPREVIOUS") == old
    assert labels(aws)[token] == ["AWSCURRENT"]  # no AWSPENDING left behind
    assert actions(driver) == [
        ("createSecret", "done"),
        ("createSecret", "already_done"),  # replayed: the value is not made twice
        ("setSecret", "done"),
        ("setSecret", "done"),
        ("testSecret", "done"),
        ("testSecret", "done"),
        ("finishSecret", "done"),
        ("finishSecret", "already_current"),
    ]
    # a second rotation right after works (nothing left blocking it)
    driver.rotate(NAME)
    assert value(aws, "AWSPREVIOUS") == new
    printed = capsys.readouterr()
    assert "finishSecret: done" in printed.out + printed.err  # the steps are logged...
    for secret in (old, new, value(aws, "AWSCURRENT")):
        assert secret not in printed.out + printed.err  # ...their values never


def test_interrupted_steps_resume_with_the_same_version(
    driver: SecretsManagerDriver, aws: AwsClients
) -> None:
    old = make_token_secret(aws)
    token = driver.open(NAME)
    # createSecret stored the value, but its answer was lost: the step failed
    fail_once(aws, "after-call.secrets-manager.PutSecretValue")
    with pytest.raises(ConnectionError):
        driver.step(NAME, token, Step.CREATE)
    pending = value(aws, "AWSPENDING")
    # Secrets Manager retries the rotation with the same version: the value is kept
    driver.step(NAME, token, Step.CREATE)
    assert value(aws, "AWSPENDING") == pending
    driver.step(NAME, token, Step.SET)
    driver.step(NAME, token, Step.TEST)
    # finishSecret interrupted between its two label moves: current moved, pending not dropped
    fail_once(aws, "before-call.secrets-manager.UpdateSecretVersionStage")
    with pytest.raises(ConnectionError):
        driver.step(NAME, token, Step.FINISH)
    assert value(aws, "AWSCURRENT") == old  # the first move itself failed: nothing changed
    dropped: list[int] = []

    def drop_pending_move(params: dict[str, Any], **_: Any) -> None:
        if params["VersionStage"] == "AWSPENDING" and not dropped:
            dropped.append(1)
            raise ConnectionError("interrupted after AWSCURRENT moved")

    aws.secretsmanager.meta.events.register(
        "provide-client-params.secrets-manager.UpdateSecretVersionStage", drop_pending_move
    )
    with pytest.raises(ConnectionError):
        driver.step(NAME, token, Step.FINISH)
    assert labels(aws)[token] == ["AWSCURRENT", "AWSPENDING"]
    # the retried rotation finds the version current, leaves it alone and tidies the label
    for step in (Step.CREATE, Step.SET, Step.TEST, Step.FINISH):
        assert driver.step(NAME, token, step)["action"] == "already_current"
    assert labels(aws)[token] == ["AWSCURRENT"]
    assert value(aws, "AWSCURRENT") == pending
    assert value(aws, "AWSPREVIOUS") == old


def test_a_stale_pending_version_blocks_the_next_rotation_until_abandoned(
    driver: SecretsManagerDriver, aws: AwsClients
) -> None:
    old = make_token_secret(aws)
    token = driver.open(NAME)
    driver.step(NAME, token, Step.CREATE)
    with pytest.raises(PreviousRotationIncomplete):
        driver.open(NAME)
    assert abandon(aws.secretsmanager, NAME) == token
    assert abandon(aws.secretsmanager, NAME) is None
    assert value(aws, "AWSCURRENT") == old
    driver.rotate(NAME)
    assert value(aws, "AWSPREVIOUS") == old


def test_guards_refuse_what_is_not_theirs(driver: SecretsManagerDriver, aws: AwsClients) -> None:
    make_token_secret(aws)
    driver.rotate(NAME)
    token = driver.open(NAME)
    driver.step(NAME, token, Step.CREATE)
    by_label = {s[0]: v for v, s in labels(aws).items()}

    def call(step: str, version: str) -> Any:
        return driver.invoke({"Step": step, "SecretId": NAME, "ClientRequestToken": version})

    with pytest.raises(RotationRefused, match="not staged AWSPENDING"):
        call("setSecret", by_label["AWSPREVIOUS"])
    # AWSCURRENT: left alone (returns at once), whatever the step
    assert call("createSecret", by_label["AWSCURRENT"])["action"] == "already_current"
    assert call("finishSecret", by_label["AWSCURRENT"])["action"] == "already_current"
    with pytest.raises(RotationRefused, match="not a version"):
        call("setSecret", "0" * 36)
    aws.secretsmanager.cancel_rotate_secret(SecretId=NAME)
    with pytest.raises(RotationRefused, match="not enabled"):
        driver.step(NAME, token, Step.SET)
    assert labels(aws)[by_label["AWSCURRENT"]] == ["AWSCURRENT"]


def test_a_provider_key_is_never_rotated_by_the_machine(
    driver: SecretsManagerDriver, aws: AwsClients
) -> None:
    aws.secretsmanager.create_secret(
        Name="edge/rpc-key",
        SecretString="provider-key-1",
        Tags=[{"Key": "edge-ops:secret-kind", "Value": "api-key"}],
    )
    token = driver.open("edge/rpc-key")
    with pytest.raises(RotationRefused, match="cannot rotate it"):
        driver.step("edge/rpc-key", token, Step.CREATE)
    assert value(aws, "AWSCURRENT", "edge/rpc-key") == "provider-key-1"


def test_test_step_asks_the_node_with_the_pending_token(
    driver: SecretsManagerDriver, aws: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_token_secret(aws)
    with node_stub(status_when_accepted=503) as node:  # unhealthy, but the token got through
        monkeypatch.setenv("EDGE_OPS_NODE_URL", node.url)
        node.accepted = {old}  # a node that never read the pending token
        token = driver.open(NAME)
        driver.step(NAME, token, Step.CREATE)
        driver.step(NAME, token, Step.SET)
        with pytest.raises(PendingSecretRefused, match="refused the pending token"):
            driver.step(NAME, token, Step.TEST)
        assert value(aws, "AWSCURRENT") == old  # never finished on a refused token
        node.accepted.add(value(aws, "AWSPENDING"))
        driver.step(NAME, token, Step.TEST)
        driver.step(NAME, token, Step.FINISH)
        assert node.seen == [401, 503]
    assert value(aws, "AWSPREVIOUS") == old


def test_each_function_rotates_only_its_own_kind(
    driver: SecretsManagerDriver, aws: AwsClients, rotation_handler: Any
) -> None:
    from tests.functions.events import FakeLambdaContext

    make_token_secret(aws)
    token = driver.open(NAME)
    event = {"Step": "createSecret", "SecretId": NAME, "ClientRequestToken": token}
    with pytest.raises(RotationRefused, match="rotates database secrets"):
        rotation_handler.database(event, FakeLambdaContext())
    assert rotation_handler.api_token(event, FakeLambdaContext())["action"] == "done"
