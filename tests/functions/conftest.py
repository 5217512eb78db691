"""Fixtures of the functions' tests: AWS credentials that reach nothing real, moto in-process
(``aws``), moto as a server another process reaches (``moto_endpoint``, ``cli_env``), a fake
Lambda context. The session-scoped ``moto_server`` (a ThreadedMotoServer on a free loopback
port) is defined in tests/conftest.py and shared with the node's tests."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from functions.common.aws import AwsClients, AwsOptions
from functions.common.s3url import S3Location
from tests.functions.events import FakeLambdaContext
from tests.support.waiting import WITHIN_S

REGION = "us-east-1"
TEST_BUCKET = "edge-ops-test"

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # Tracer switches itself off outside Lambda; this makes sure of it.
    "POWERTOOLS_TRACE_DISABLED": "true",
}
_CLEARED_PREFIXES = ("AWS_ENDPOINT_URL", "EDGE_OPS_")
_CLEARED = (
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_LAMBDA_FUNCTION_NAME",
)


@pytest.fixture(autouse=True)
def aws_test_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test can reach real AWS or read an operator's profile or EDGE_OPS_ settings."""
    for key in list(os.environ):
        if key.startswith(_CLEARED_PREFIXES) or key in _CLEARED:
            monkeypatch.delenv(key)
    for key, value in _FAKE_AWS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def aws() -> Iterator[AwsClients]:
    """moto in-process for every AWS service; the clients a core is given."""
    from moto import mock_aws

    with mock_aws():
        yield AwsClients(AwsOptions(region=REGION))


@pytest.fixture
def s3_bucket(aws: AwsClients) -> S3Location:
    """An empty bucket in moto, as ``s3://edge-ops-test``."""
    aws.s3.create_bucket(Bucket=TEST_BUCKET)
    return S3Location(TEST_BUCKET)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture
def moto_endpoint(moto_server: str) -> str:
    """The moto server's URL, its state emptied for this test."""
    req = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(req, timeout=WITHIN_S) as answer:  # noqa: S310 (loopback)
        answer.read()
    return moto_server


@pytest.fixture
def cli_env(moto_endpoint: str) -> dict[str, str]:
    """The environment of an ``edge-ops`` subprocess talking to the moto server."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_CLEARED_PREFIXES) and k not in _CLEARED
    }
    env.update(_FAKE_AWS)
    env["AWS_ENDPOINT_URL"] = moto_endpoint
    return env
