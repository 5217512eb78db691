"""The four scheduled functions, called as Lambda calls them (recorded EventBridge event, Lambda
context) against moto's S3 and the real PostgreSQL; their EMF metrics read from stdout."""

from __future__ import annotations

import pytest

from functions.backup import handler, layout
from functions.backup import metrics as names
from functions.backup.objects import S3Objects
from functions.common.aws import AwsClients
from functions.common.errors import Unavailable
from functions.common.s3url import S3Location
from tests.conftest import postgres_base_url
from tests.functions.backup.conftest import PREFIX
from tests.functions.backup.store_data import populate
from tests.functions.events import FakeLambdaContext, emf_metrics, scheduled_event

pytestmark = pytest.mark.postgres


def _metrics(text: str) -> dict[str, float]:
    """Metric -> value; powertools writes a one-element list for a metric added once."""
    out = {}
    for name, value in emf_metrics(text).items():
        if isinstance(value, list):
            assert len(value) == 1, (name, value)
            value = value[0]
        out[name] = float(value)
    return out


@pytest.fixture
def env(
    monkeypatch: pytest.MonkeyPatch, pg_url: str, s3_bucket: S3Location, aws: AwsClients
) -> str:
    populate(pg_url, 800)
    monkeypatch.setenv("EDGE_OPS_DATABASE_URL", pg_url)
    monkeypatch.setenv("EDGE_OPS_SCRATCH_URL", postgres_base_url())
    monkeypatch.setenv("EDGE_OPS_BACKUP_LOCATION", f"s3://{s3_bucket.bucket}/{PREFIX}")
    monkeypatch.setattr(
        handler, "_clients", aws
    )  # the moto clients, as a warm Lambda reuses its own
    return pg_url


def test_backup_verify_drill_retention_handlers(
    env: str, aws: AwsClients, s3_bucket: S3Location, capsys: pytest.CaptureFixture[str]
) -> None:
    out = handler.backup(scheduled_event("2026-11-30T02:00:00Z"), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert m[names.BACKUP_SUCCEEDED] == 1
    assert m[names.BACKUP_BYTES] == out["bytes"] > 0
    assert m[names.VERIFIED_BACKUPS] == 0 and names.NEWEST_VERIFIED_AGE not in m
    assert out["rows"] > 800

    out = handler.verify(scheduled_event("2026-11-30T04:00:00Z"), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert out["state"] == "verified" and m[names.VERIFICATION_RESULT] == 1
    assert m[names.VERIFIED_BACKUPS] == 1 and m[names.NEWEST_VERIFIED_AGE] >= 0

    out = handler.drill(scheduled_event("2026-12-15T05:00:00Z"), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert out["state"] == "verified", out["problems"]
    assert m[names.DRILL_RESULT] == 1 and m[names.DRILL_RTO_SECONDS] == out["rto_s"] > 0

    out = handler.retention(scheduled_event("2026-11-30T03:30:00Z"), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert out["deleted"] == [] and m[names.RETENTION_KEPT] == 1


def test_verify_and_drill_with_the_store_given_as_a_secret_only(
    env: str, monkeypatch: pytest.MonkeyPatch, aws: AwsClients, capsys: pytest.CaptureFixture[str]
) -> None:
    """As deployed (infra: EDGE_OPS_DATABASE_SECRET_ID, no URL): the scratch database is made
    on the store's own server, read from the secret (before, verify had no server at all)."""
    arn = aws.secretsmanager.create_secret(Name="edge/db", SecretString=env)["ARN"]
    monkeypatch.delenv("EDGE_OPS_DATABASE_URL")
    monkeypatch.delenv("EDGE_OPS_SCRATCH_URL")
    monkeypatch.setenv("EDGE_OPS_DATABASE_SECRET_ID", arn)
    handler.backup(scheduled_event("2026-11-30T02:00:00Z"), FakeLambdaContext())
    out = handler.verify(scheduled_event("2026-11-30T04:00:00Z"), FakeLambdaContext())
    assert out["state"] == "verified", out["problems"]
    out = handler.drill(scheduled_event("2026-12-15T05:00:00Z"), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert out["state"] == "verified" and m[names.DRILL_RESULT] == 1


def test_backup_handler_fails_loudly_with_the_error_metric(
    env: str,
    monkeypatch: pytest.MonkeyPatch,
    aws: AwsClients,
    s3_bucket: S3Location,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EDGE_OPS_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/none")
    with pytest.raises(Unavailable):
        handler.backup(scheduled_event(), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert m[names.BACKUP_FAILED] == 1 and names.BACKUP_SUCCEEDED not in m
    assert aws.s3.list_objects_v2(Bucket=s3_bucket.bucket).get("KeyCount") == 0


def test_verify_handler_marks_a_damaged_backup_failed_and_raises(
    env: str, aws: AwsClients, s3_bucket: S3Location, capsys: pytest.CaptureFixture[str]
) -> None:
    handler.backup(scheduled_event(), FakeLambdaContext())
    bucket = S3Objects(aws.s3, s3_bucket.bucket)
    (data,) = [o.key for o in bucket.listing(PREFIX) if o.key.endswith(layout.DATA)]
    body = bytearray(bucket.get(data))
    body[len(body) // 2] ^= 0x01
    bucket.put(data, bytes(body))
    capsys.readouterr()
    from functions.common.errors import Corrupt

    with pytest.raises(Corrupt, match="altered"):
        handler.verify(scheduled_event(), FakeLambdaContext())
    m = _metrics(capsys.readouterr().out)
    assert m[names.VERIFICATION_RESULT] == 0
    assert any(o.key.endswith(layout.VERIFICATION) for o in bucket.listing(PREFIX))
    assert any(o.key == data for o in bucket.listing(PREFIX))  # never deleted by the check
