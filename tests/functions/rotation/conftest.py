"""Fixtures of the rotation tests: the handler called as Secrets Manager calls it (in-process
moto), a driver that opens rotations as RotateSecret does, and the machine's PostgreSQL."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from functions.common.aws import AwsClients
from shared.db.engine import normalize_url
from tests.conftest import postgres_base_url
from tests.functions.events import FakeLambdaContext
from tests.support.rotation import SecretsManagerDriver, core_loggers_restored
from tests.support.scram_pg import ScramPostgres


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


@pytest.fixture
def local_pg() -> ScramPostgres:
    """The machine's PostgreSQL (127.0.0.1:5432, or DATABASE_URL's): it trusts every login
    but refuses one as a role that does not exist."""
    url = make_url(normalize_url(postgres_base_url()))
    return ScramPostgres(
        url.host or "127.0.0.1",
        url.port or 5432,
        url.username or "postgres",
        url.password or "",
        url.database or "postgres",
    )
