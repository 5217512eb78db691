"""The scheduled report functions with recorded EventBridge events, against moto (S3, SNS, SQS
to read what was announced) and the hand-built journal on SQLite and the real PostgreSQL."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from decimal import Decimal
from types import ModuleType

import pytest
from sqlalchemy import Engine

from functions.common.aws import AwsClients
from functions.common.s3url import S3Location
from shared.db.engine import create_engine, migrate
from tests.functions.events import FakeLambdaContext, emf_metrics, scheduled_event
from tests.support.journal_builder import build_reference_day

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def report_handler() -> ModuleType:
    """Imported when used: a handler module routes the core loggers through its own Logger
    at import (powertools), which must not happen while other modules' tests run."""
    return importlib.import_module("functions.report.handler")


@pytest.fixture
def journal(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    migrate(engine)
    build_reference_day(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def queue(aws: AwsClients, monkeypatch: pytest.MonkeyPatch) -> str:
    """An SNS topic for announcements with an SQS queue subscribed, to read them back."""
    topic = aws.sns.create_topic(Name="edge-ops-notify")["TopicArn"]
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="announced")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    monkeypatch.setenv("EDGE_OPS_NOTIFY_TOPIC_ARN", topic)
    return str(url)


@pytest.fixture
def env(
    report_handler: ModuleType,
    journal: Engine,
    s3_bucket: S3Location,
    aws: AwsClients,
    monkeypatch: pytest.MonkeyPatch,
) -> S3Location:
    monkeypatch.setenv("EDGE_OPS_DATABASE_URL", journal.url.render_as_string(False))
    monkeypatch.setenv("EDGE_OPS_REPORT_TO", f"s3://{s3_bucket.bucket}/reports")
    monkeypatch.setenv("EDGE_OPS_REPORT_STARTING_CAPITAL", "10")
    monkeypatch.setattr(report_handler, "_aws", aws)
    return s3_bucket


def _get(aws: AwsClients, bucket: str, key: str) -> bytes:
    return aws.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_daily_report_is_written_to_s3_and_announced(
    report_handler: ModuleType,
    env: S3Location,
    aws: AwsClients,
    queue: str,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = scheduled_event("2024-03-11T00:15:00Z", rule="edge-ops-report-daily")
    out = report_handler.daily(event, lambda_context)
    base = "reports/daily/2024-03-10"
    assert out["period"]["label"] == "2024-03-10" and out["message_id"]
    report = json.loads(_get(aws, env.bucket, f"{base}/report.json"))
    live = report["modes"]["live"]["totals"]
    assert (live["attempts"], live["succeeded"], live["net"]) == (6, 3, "0.05908")
    assert report["modes"]["live"]["hold_comparison"]["ending_capital_traded"] == "10.05908"
    assert report["period"]["timezone"] == "UTC" and report["quote"]["symbol"] == "USDT"
    md = _get(aws, env.bucket, f"{base}/report.md").decode()
    assert "# Daily trading report 2024-03-10" in md and "timezone UTC" in md
    assert "| Success rate | 50.00% |" in md
    assert "seed 001: trade success rate > 95%" in md and "**success_rate**" in md
    for chart in ("live_cumulative_net", "live_activity", "paper_activity"):
        assert _get(aws, env.bucket, f"{base}/{chart}.png").startswith(PNG)
        assert f"({chart}.png)" in md
    head = aws.s3.head_object(Bucket=env.bucket, Key=f"{base}/report.json")
    assert head["ServerSideEncryption"] == "AES256"
    # The announcement the fan-out will deliver.
    received = aws.client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    body = json.loads(received[0]["Body"])
    message = json.loads(body["Message"])
    assert body["Subject"] == "Daily trading report 2024-03-10"
    assert (
        message["kind"] == "report"
        and f"s3://{env.bucket}/{base}/report.json" in message["objects"]
    )
    assert message["headline"]["live"]["targets_missed"] == [
        "seed 001: trade success rate > 95%",
        "seed 004: success rate > 60% during active periods",
    ]
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["report_failed"] == [0.0]
    assert metrics["report_success_rate_live"] == [50.0]
    assert metrics["report_attempts_paper"] == [3.0]


def test_weekly_and_monthly_cover_the_period_before_the_schedule(
    report_handler: ModuleType, env: S3Location, aws: AwsClients, lambda_context: FakeLambdaContext
) -> None:
    weekly = report_handler.weekly(scheduled_event("2024-03-11T00:30:00Z"), lambda_context)
    assert weekly["period"]["label"] == "2024-W10"  # Mon 4 - Sun 10 March
    assert weekly["headline"]["live"]["attempts"] == 7  # the day before's trade included
    monthly = report_handler.monthly(scheduled_event("2024-04-01T00:45:00Z"), lambda_context)
    assert monthly["period"]["label"] == "2024-03"
    assert monthly["headline"]["live"]["attempts"] == 8  # the next day's too
    assert Decimal(monthly["headline"]["live"]["net"]) == Decimal("0.05908") + Decimal(
        "0.098"
    ) - Decimal("0.0005")
    assert aws.s3.head_object(Bucket=env.bucket, Key="reports/monthly/2024-03/report.md")


def test_a_failed_report_fails_loudly(
    report_handler: ModuleType,
    env: S3Location,
    lambda_context: FakeLambdaContext,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EDGE_OPS_REPORT_TO", "s3://no-such-bucket/reports")
    with pytest.raises(Exception, match="S3 refused the report"):
        report_handler.daily(scheduled_event("2024-03-11T00:15:00Z"), lambda_context)
    assert emf_metrics(capsys.readouterr().out)["report_failed"] == [1.0]
