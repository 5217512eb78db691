"""The daily prune function called with a recorded EventBridge scheduled event, against moto
and the store (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime
from types import ModuleType

import pytest

from functions.common.aws import AwsClients
from functions.common.s3url import S3Location
from tests.functions.events import FakeLambdaContext, emf_metrics, scheduled_event
from tests.functions.prune.seed import Seeded, check_exactly_once, seed_store

FIRED = "2026-11-30T23:00:00Z"  # the 23:00 UTC schedule (seed 001)


@pytest.fixture
def prune_handler() -> ModuleType:
    """Imported when used: a handler module routes the core loggers through its own Logger
    at import (powertools), which must not happen while other modules' tests run."""
    return importlib.import_module("functions.prune.handler")


@pytest.fixture
def seeded(db_url: str) -> Iterator[Seeded]:
    s = seed_store(db_url, datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    yield s
    s.engine.dispose()


@pytest.fixture
def env(
    prune_handler: ModuleType,
    seeded: Seeded,
    s3_bucket: S3Location,
    aws: AwsClients,
    monkeypatch: pytest.MonkeyPatch,
) -> S3Location:
    monkeypatch.setenv("EDGE_OPS_DATABASE_URL", seeded.engine.url.render_as_string(False))
    monkeypatch.setenv("EDGE_OPS_PRUNE_ARCHIVE_TO", f"s3://{s3_bucket.bucket}/retention")
    monkeypatch.setenv("EDGE_OPS_PRUNE_BATCH_SIZE", "9")
    monkeypatch.setattr(prune_handler, "_aws", aws)
    return s3_bucket


def test_the_scheduled_prune_archives_and_publishes_the_database_size(
    prune_handler: ModuleType,
    seeded: Seeded,
    env: S3Location,
    aws: AwsClients,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = scheduled_event(FIRED, rule="edge-ops-prune-daily")
    result = prune_handler.handler(event, lambda_context)
    counts = check_exactly_once(seeded, aws.s3, env.bucket, "retention")
    assert result["rows"] == sum(counts.values()) > 0
    assert result["horizon"] == "2026-09-01T23:00:00+00:00"  # from the event's time
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["database_size_mb"] == [result["database_size_mb"]]
    assert metrics["prune_rows_archived"] == [float(result["rows"])]
    assert metrics["prune_failed"] == [0.0]


def test_a_failed_prune_fails_loudly(
    prune_handler: ModuleType,
    seeded: Seeded,
    env: S3Location,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDGE_OPS_PRUNE_ARCHIVE_TO", "s3://no-such-bucket/retention")
    with pytest.raises(Exception, match="S3 refused the archive"):
        prune_handler.handler(scheduled_event(FIRED), lambda_context)
    assert emf_metrics(capsys.readouterr().out)["prune_failed"] == [1.0]
