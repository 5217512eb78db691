"""The prune's core against moto (in-process) on SQLite and the real PostgreSQL: what goes, what
stays, verification, refusals, and an interrupted batch recovered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.common.aws import AwsClients
from functions.common.errors import BadInput, Corrupt, Unavailable
from functions.common.s3url import S3Location
from functions.common.store import Store
from functions.prune import archive, core, service
from shared.db import schema
from tests.functions.prune.seed import Seeded, check_exactly_once, keys_in_db, seed_store

NOW = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)
AGE = timedelta(days=90)


@pytest.fixture
def seeded(db_url: str) -> Iterator[Seeded]:
    s = seed_store(db_url, NOW)
    yield s
    s.engine.dispose()


@pytest.fixture
def dest(s3_bucket: S3Location) -> S3Location:
    return s3_bucket.child("archive")


def _run(s: Seeded, aws: AwsClients, dest: S3Location, **kw: Any) -> dict[str, Any]:
    store = Store.from_url(s.engine.url.render_as_string(hide_password=False))
    try:
        return service.run(store, aws.s3, dest, now=NOW, older_than=AGE, **kw)
    finally:
        store.dispose()


def _untouched(s: Seeded) -> None:
    with s.engine.connect() as conn:
        assert conn.execute(schema.candles.select()).all().__len__() == s.candles
        cp = conn.execute(schema.checkpoints.select()).one()
        assert cp.block_number == 10_000
        marker = conn.execute(
            schema.system_config.select().where(schema.system_config.c.key == core.IN_FLIGHT)
        ).all()
        assert marker == []


def test_prune_archives_verifies_and_deletes_only_what_may_go(
    seeded: Seeded, aws: AwsClients, dest: S3Location
) -> None:
    done: list[tuple[str, int]] = []
    result = _run(seeded, aws, dest, batch_size=7, progress=lambda t, n: done.append((t, n)))
    counts = check_exactly_once(seeded, aws.s3, dest.bucket, dest.prefix)
    assert counts == {"swaps": 40, "blocks": 5, "audit_log": 6, "trades": 4, "tx_journal": 3}
    assert result["rows"] == sum(counts.values())
    assert {t: v["rows"] for t, v in result["tables"].items()} == counts
    # 40 swaps over three days in batches of 7: at least one object per day, none over 7 rows
    assert result["tables"]["swaps"]["objects"] >= 7
    assert done[-1] == ("tx_journal", 3)
    assert result["vacuumed"] is True and result["database_size_bytes"] > 0
    assert result["database_size_mb"] == round(result["database_size_bytes"] / 2**20, 3)
    _untouched(seeded)
    key = aws.s3.list_objects_v2(Bucket=dest.bucket, Prefix="archive/swaps/")["Contents"][0]
    head = aws.s3.head_object(Bucket=dest.bucket, Key=key["Key"])
    assert head["ServerSideEncryption"] == "AES256"
    assert head["Metadata"]["table"] == "swaps" and int(head["Metadata"]["rows"]) <= 7


def test_a_second_run_archives_nothing_more(
    seeded: Seeded, aws: AwsClients, dest: S3Location
) -> None:
    _run(seeded, aws, dest)
    again = _run(seeded, aws, dest)
    assert again["rows"] == 0 and again["vacuumed"] is False
    check_exactly_once(seeded, aws.s3, dest.bucket, dest.prefix)


def test_dry_run_counts_and_changes_nothing(
    seeded: Seeded, aws: AwsClients, dest: S3Location
) -> None:
    result = _run(seeded, aws, dest, dry_run=True)
    assert {t: v["rows"] for t, v in result["tables"].items()} == {
        t: len(k) for t, k in seeded.goes.items()
    }
    assert "Contents" not in aws.s3.list_objects_v2(Bucket=dest.bucket)
    for table, rows in seeded.rows.items():
        assert keys_in_db(seeded.engine, table) == set(rows)


class _Killed(BaseException):
    """Stands for SIGKILL in-process (the subprocess test sends the real one)."""


def test_a_batch_interrupted_after_its_upload_is_undone_and_redone(
    seeded: Seeded, aws: AwsClients, dest: S3Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = {"n": 0}

    def fault(point: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise _Killed(point)

    monkeypatch.setattr(core, "_fault", fault)
    with pytest.raises(_Killed):
        _run(seeded, aws, dest, batch_size=5)
    # Two batches committed, the third is uploaded and verified but its rows are still here.
    listed = aws.s3.list_objects_v2(Bucket=dest.bucket, Prefix="archive/")["Contents"]
    assert len(listed) == 3
    assert len(keys_in_db(seeded.engine, "swaps")) == len(seeded.rows["swaps"]) - 10
    monkeypatch.setattr(core, "_fault", lambda point: None)
    result = _run(seeded, aws, dest, batch_size=5)
    assert result["recovered"] is not None and result["recovered"].startswith("s3://")
    check_exactly_once(seeded, aws.s3, dest.bucket, dest.prefix)
    _untouched(seeded)


def test_s3_refusing_the_archive_deletes_nothing(seeded: Seeded, aws: AwsClients) -> None:
    nowhere = S3Location("no-such-bucket", "archive")
    with pytest.raises(Unavailable, match="S3 refused the archive of swaps"):
        _run(seeded, aws, nowhere)
    for table, rows in seeded.rows.items():
        assert keys_in_db(seeded.engine, table) == set(rows)


def test_an_archive_that_reads_back_wrong_deletes_nothing(
    seeded: Seeded, aws: AwsClients, dest: S3Location, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = archive.decode

    def lossy(data: bytes) -> tuple[list[str], list[tuple[Any, ...]]]:
        names, rows = real(data)
        return names, rows[:-1]

    monkeypatch.setattr(archive, "decode", lossy)
    with pytest.raises(Corrupt, match="does not read back as written"):
        _run(seeded, aws, dest)
    for table, rows in seeded.rows.items():
        assert keys_in_db(seeded.engine, table) == set(rows)
    monkeypatch.setattr(archive, "decode", real)
    _run(seeded, aws, dest)  # the next run cleans up and archives everything once
    check_exactly_once(seeded, aws.s3, dest.bucket, dest.prefix)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "--batch-size"),
        ({"tables": ["candles"]}, "cannot prune candles"),
    ],
)
def test_bad_options_are_refused_before_anything_happens(
    seeded: Seeded, aws: AwsClients, dest: S3Location, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        _run(seeded, aws, dest, **kwargs)
    with pytest.raises(BadInput, match="whole bucket"):
        _run(seeded, aws, S3Location(dest.bucket))


@pytest.mark.parametrize("text", ["0d", "90", "ninety days", "-5d", "23h"])
def test_ages_that_are_not_accepted(text: str) -> None:
    with pytest.raises(BadInput, match="--older-than"):
        service.parse_age(text)


def test_ages() -> None:
    assert service.parse_age("90d") == timedelta(days=90)
    assert service.parse_age("2w") == timedelta(days=14)
    assert service.parse_age(" 36h ") == timedelta(hours=36)
