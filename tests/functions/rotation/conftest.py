"""Fixtures of the rotation tests: the handler called as Secrets Manager calls it (in-process
moto), and a driver that opens rotations as RotateSecret does."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from functions.common.aws import AwsClients
from tests.functions.events import FakeLambdaContext
from tests.support.rotation import SecretsManagerDriver, core_loggers_restored


@pytest.fixture
def rotation_handler() -> Iterator[ModuleType]:
    """The handler module; the core loggers, which each call points at the function's JSON
    handler, are put back after each test (other tests check them)."""
    with core_loggers_restored():
        yield importlib.import_module("functions.rotation.handler")


@pytest.fixture
def handler_clients(
    aws: AwsClients, rotation_handler: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> AwsClients:
    """The handler's clients are the test's (moto in-process), whatever an earlier test made."""
    monkeypatch.setattr(rotation_handler, "_clients", aws)
    return aws


@pytest.fixture
def driver(handler_clients: AwsClients, rotation_handler: ModuleType) -> SecretsManagerDriver:
    def invoke(event: dict[str, Any]) -> Any:
        return rotation_handler.handler(event, FakeLambdaContext())

    return SecretsManagerDriver(handler_clients.secretsmanager, invoke)
