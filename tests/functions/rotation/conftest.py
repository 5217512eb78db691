"""Fixtures of the rotation tests: the handler called as Secrets Manager calls it (in-process
moto), and a driver that opens rotations as RotateSecret does."""

from __future__ import annotations

from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.rotation import handler as rotation_handler
from tests.functions.events import FakeLambdaContext
from tests.support.rotation import SecretsManagerDriver


@pytest.fixture
def handler_clients(aws: AwsClients, monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    """The handler's clients are the test's (moto in-process), whatever an earlier test made."""
    monkeypatch.setattr(rotation_handler, "_clients", aws)
    return aws


@pytest.fixture
def driver(handler_clients: AwsClients) -> SecretsManagerDriver:
    def invoke(event: dict[str, Any]) -> Any:
        return rotation_handler.handler(event, FakeLambdaContext())

    return SecretsManagerDriver(handler_clients.secretsmanager, invoke)
