"""Fixtures of the rotation tests: the handler called as Secrets Manager calls it (in-process
moto), and a driver that opens rotations as RotateSecret does."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.common.observability import _share_handler
from tests.functions.events import FakeLambdaContext
from tests.support.rotation import SecretsManagerDriver, core_loggers_restored


@pytest.fixture
def rotation_handler() -> Iterator[ModuleType]:
    """The handler module, imported by the first test that needs it (not at collection: a
    handler's import takes over the core loggers' JSON handler, which other tests check;
    put back after each test)."""
    with core_loggers_restored():
        module = importlib.import_module("functions.rotation.handler")
        _share_handler(module.logger)  # the steps' lines go to the function's handler
        yield module


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
