"""The probe function as Lambda calls it: a recorded EventBridge scheduled event and a Lambda
context, its secrets in Secrets Manager and its backups in S3 (moto), against local servers
standing in for the node and the RPC endpoints where a fault is needed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.common.errors import BadInput
from functions.common.s3url import S3Location
from tests.functions.events import FakeLambdaContext, scheduled_event
from tests.functions.probe.conftest import Points, check_ok, emf_points, make_backup
from tests.functions.probe.servers import (
    TOKEN,
    NodeState,
    RpcState,
    closed_port,
    fake_node,
    fake_rpc,
    health_body,
    silent_endpoint,
)

TOKEN_SECRET = "edge/api-token"
RPC_SECRET = "edge/rpc-endpoints"
NODE = ("Node", "edge-test")


def _handler() -> ModuleType:
    """The handler module, imported when a test runs rather than when tests are collected:
    importing a handler routes the shared core loggers to its Logger
    (functions/common/observability.py), which the foundation's test of that routing, collected
    alongside, must not find changed."""
    import functions.probe.handler as module

    return module


@pytest.fixture
def node() -> Iterator[tuple[NodeState, str]]:
    state = NodeState()
    with fake_node(state) as url:
        yield state, url


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, aws: AwsClients, node: tuple[NodeState, str]
) -> pytest.MonkeyPatch:
    monkeypatch.setattr(_handler(), "_sources", None)  # a cold start per test
    monkeypatch.setenv("EDGE_OPS_NODE_URL", node[1])
    monkeypatch.setenv("EDGE_OPS_NODE_NAME", "edge-test")
    monkeypatch.setenv("EDGE_OPS_NODE_TOKEN_SECRET_ID", TOKEN_SECRET)
    monkeypatch.setenv("EDGE_OPS_RPC_ENDPOINTS_SECRET_ID", RPC_SECRET)
    monkeypatch.setenv("EDGE_OPS_PROBE_CALL_TIMEOUT_S", "1")
    monkeypatch.setenv("EDGE_OPS_PROBE_DEADLINE_S", "5")
    aws.secretsmanager.create_secret(Name=TOKEN_SECRET, SecretString=TOKEN)
    return monkeypatch


def _endpoints(aws: AwsClients, endpoints: dict[str, str]) -> None:
    aws.secretsmanager.create_secret(Name=RPC_SECRET, SecretString=json.dumps(endpoints))


def _call(capsys: pytest.CaptureFixture[str]) -> tuple[dict[str, Any], Points]:
    out = _handler().handler(scheduled_event("2026-11-30T02:01:00Z"), FakeLambdaContext())
    return out, emf_points(capsys.readouterr().out)


def test_all_well_with_a_verified_backup(
    env: pytest.MonkeyPatch,
    aws: AwsClients,
    s3_bucket: S3Location,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    now = datetime.now(UTC)
    verified = make_backup(
        aws.s3, S3Location(s3_bucket.bucket, "prod/db"), tmp_path, now - timedelta(hours=30)
    )
    # newer, but not verified: not the one whose age counts
    make_backup(
        aws.s3,
        S3Location(s3_bucket.bucket, "prod/db"),
        tmp_path,
        now - timedelta(hours=6),
        verified=False,
    )
    env.setenv("EDGE_OPS_BACKUP_LOCATION", f"s3://{s3_bucket.bucket}/prod/db")
    with fake_rpc(RpcState(head=1002)) as a, fake_rpc(RpcState(head=1000)) as b:
        _endpoints(aws, {"provider-a": a, "provider-b": b})
        out, pts = _call(capsys)
    assert out["ok"] is True, out
    assert out["scheduled_at"] == "2026-11-30T02:01:00Z"
    for check in ("healthz", "health", "price", "backup"):
        assert check_ok(pts, check, Node="edge-test") == 1.0
    assert check_ok(pts, "rpc", Endpoint="provider-a") == 1.0
    assert check_ok(pts, "rpc", Endpoint="provider-b") == 1.0
    assert pts[("RpcHeadLagBlocks", frozenset({("Endpoint", "provider-a")}))] == 2.0
    assert pts[("RpcHeadLagBlocks", frozenset({("Endpoint", "provider-b")}))] == 0.0
    age = pts[("VerifiedBackupAgeSeconds", frozenset({NODE}))]
    assert 30 * 3600 <= age < 30 * 3600 + 120
    assert [c["detail"] for c in out["checks"] if c["check"] == "backup"] == [
        f"the newest verified backup ({verified}) is 30.0 h old"
    ]
    assert pts[("PriceUpdateAgeSeconds", frozenset({NODE}))] < 60


def test_a_silent_endpoint_a_lagging_one_and_a_stale_price(
    env: pytest.MonkeyPatch,
    aws: AwsClients,
    node: tuple[NodeState, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _ = node
    state.health = health_body(block=2000, price_time=time.time() - 301 - 5)
    with (
        fake_rpc(RpcState(head=2001)) as good,
        fake_rpc(RpcState(head=1900)) as lagging,
        silent_endpoint() as silent,
    ):
        _endpoints(aws, {"good": good, "lagging": lagging, "silent": silent})
        out, pts = _call(capsys)
    assert out["ok"] is False
    assert check_ok(pts, "rpc", Endpoint="good") == 1.0
    assert check_ok(pts, "rpc", Endpoint="lagging") == 0.0
    assert check_ok(pts, "rpc", Endpoint="silent") == 0.0
    assert pts[("RpcHeadLagBlocks", frozenset({("Endpoint", "lagging")}))] == -100.0
    assert check_ok(pts, "price", Node="edge-test") == 0.0
    assert pts[("PriceUpdateAgeSeconds", frozenset({NODE}))] > 300
    assert check_ok(pts, "health", Node="edge-test") == 1.0
    assert check_ok(pts, "healthz", Node="edge-test") == 1.0
    details = {c["target"]: c["detail"] for c in out["checks"]}
    assert details["silent"] == "no answer (timed out after 1 s)"
    assert "API-KEY" not in json.dumps(out)


def test_node_down_still_measures_the_endpoints(
    env: pytest.MonkeyPatch, aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("EDGE_OPS_NODE_URL", closed_port())
    with fake_rpc(RpcState(head=5)) as a:
        _endpoints(aws, {"a": a})
        out, pts = _call(capsys)
    assert out["ok"] is False
    for check in ("healthz", "health", "price"):
        assert check_ok(pts, check, Node="edge-test") == 0.0
    assert check_ok(pts, "rpc", Endpoint="a") == 1.0
    assert ("HealthResponseTimeMs", frozenset({NODE})) not in pts
    assert ("ProbeDurationMs", frozenset({NODE})) in pts


def test_a_rotated_token_is_fetched_anew_on_401_and_a_wrong_one_fails_the_check(
    env: pytest.MonkeyPatch,
    aws: AwsClients,
    node: tuple[NodeState, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    state, _ = node
    _endpoints(aws, {})
    out, pts = _call(capsys)  # warm: the token is now cached
    assert check_ok(pts, "health", Node="edge-test") == 1.0
    # The token is rotated: the node and the secret change, the cache still holds the old one.
    state.token = "rotated-token-" + "ab" * 25
    aws.secretsmanager.put_secret_value(SecretId=TOKEN_SECRET, SecretString=state.token)
    out, pts = _call(capsys)
    assert check_ok(pts, "health", Node="edge-test") == 1.0
    assert state.refused == 1 and state.seen_tokens[-2:] == [TOKEN, state.token]
    # The node's token changes but the secret gets a wrong one: refused twice, the check fails
    # and says why.
    previous, state.token = state.token, "third-token-" + "cd" * 26
    aws.secretsmanager.put_secret_value(SecretId=TOKEN_SECRET, SecretString="not-the-token")
    state.seen_tokens.clear()
    out, pts = _call(capsys)
    assert check_ok(pts, "health", Node="edge-test") == 0.0
    assert check_ok(pts, "healthz", Node="edge-test") == 1.0
    assert state.seen_tokens == [previous, "not-the-token"]
    detail = next(c["detail"] for c in out["checks"] if c["check"] == "health")
    assert "refused the API token, even fetched anew" in detail


def test_a_missing_token_secret_is_a_failed_health_check(
    env: pytest.MonkeyPatch, aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("EDGE_OPS_NODE_TOKEN_SECRET_ID", "edge/no-such-secret")
    _endpoints(aws, {})
    out, pts = _call(capsys)
    assert check_ok(pts, "health", Node="edge-test") == 0.0
    detail = next(c["detail"] for c in out["checks"] if c["check"] == "health")
    assert "could not read the API token: secret 'edge/no-such-secret' does not exist" in detail


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("EDGE_OPS_NODE_URL", None, "no node to probe: set EDGE_OPS_NODE_URL"),
        ("EDGE_OPS_NODE_URL", "", "EDGE_OPS_NODE_URL: String should match pattern"),
        ("EDGE_OPS_NODE_URL", "ftp://x", "EDGE_OPS_NODE_URL"),
        ("EDGE_OPS_PROBE_CALL_TIMEOUT_S", "30", "shorter than EDGE_OPS_PROBE_DEADLINE_S"),
        ("EDGE_OPS_NODE_TOKEN", "x", "not both"),
    ],
)
def test_settings_that_cannot_work_fail_the_invocation_clearly(
    env: pytest.MonkeyPatch, variable: str, value: str | None, says: str
) -> None:
    if value is None:
        env.delenv(variable)
    else:
        env.setenv(variable, value)
    with pytest.raises(BadInput, match=says):
        _handler().handler(scheduled_event(), FakeLambdaContext())


def test_an_endpoint_the_stack_would_refuse_fails_the_rpc_check_naming_the_entry(
    env: pytest.MonkeyPatch, aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    # the stack refuses this secret at `pulumi up` (tests/infra/test_stack_config.py) with the
    # same words: both read it with shared/rpc_endpoints.py
    numeric = [{"name": 7, "http_url": "https://rpc.example.com/KEY-RPC-0007"}]
    aws.secretsmanager.create_secret(Name=RPC_SECRET, SecretString=json.dumps(numeric))
    out, pts = _call(capsys)
    [rpc] = [c for c in out["checks"] if c["check"] == "rpc"]
    assert rpc["ok"] is False
    assert rpc["detail"] == (
        f"could not read the RPC endpoints: secret {RPC_SECRET!r}: entry 0: name must be a JSON "
        "string of 1-64 letters, digits, _ . -, not a JSON number"
    )
    assert check_ok(pts, "healthz", Node="edge-test") == 1.0  # the rest of the probe ran
