"""Backup, verify and restore round trips on both kinds of store, through moto's S3."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text

from functions.backup import catalog, layout
from functions.backup.create import BackupOptions, create_backup
from functions.backup.objects import S3Objects
from functions.backup.restore import restore
from functions.backup.verify import verify
from shared.db import schema
from shared.db.engine import create_engine, current_revision, head_revision
from tests.conftest import postgres_base_url
from tests.functions.backup.conftest import PREFIX
from tests.functions.conftest import TEST_BUCKET as BUCKET

SMALL_PARTS = BackupOptions(part_size=5 * 1024 * 1024)


def _counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in schema.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _scratch_server(url: str) -> str | None:
    return None if url.startswith("sqlite") else postgres_base_url()


def test_backup_writes_data_then_manifest_with_encryption(
    filled_db: str, bucket: S3Objects, s3_client: Any
) -> None:
    m = create_backup(filled_db, bucket, PREFIX, options=SMALL_PARTS)
    keys = sorted(o["Key"] for o in s3_client.list_objects_v2(Bucket=BUCKET)["Contents"])
    assert keys == [
        layout.key(PREFIX, m.id, layout.DATA),
        layout.key(PREFIX, m.id, layout.MANIFEST),
    ]
    for key in keys:
        assert s3_client.head_object(Bucket=BUCKET, Key=key)["ServerSideEncryption"] == "AES256"
    counts = _counts(filled_db)
    assert {t.name: t.rows for t in m.tables} == dict(counts.items())
    assert m.revision == head_revision()
    assert m.objects[0].size == m.stored_bytes > 0
    assert m.started_at <= m.finished_at
    if not filled_db.startswith("sqlite"):
        assert m.sequences["swaps.id"] >= counts["swaps"]
    assert s3_client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_verify_restores_into_scratch_and_marks_verified(filled_db: str, bucket: S3Objects) -> None:
    m = create_backup(filled_db, bucket, PREFIX)
    entry = catalog.find(catalog.scan(bucket, PREFIX), "latest")
    assert entry.id == m.id and entry.state == "unverified"
    result = verify(bucket, PREFIX, entry, _scratch_server(filled_db))
    assert result.verification.state == "verified", result.verification.problems
    assert result.restore is not None and result.restore.rows == m.rows
    again = catalog.find(catalog.scan(bucket, PREFIX), m.id)
    assert again.state == "verified"


def test_restore_refuses_non_empty_target_then_backs_it_up_with_force(
    filled_db: str, bucket: S3Objects, db_url: str, tmp_path: Any
) -> None:
    m = create_backup(filled_db, bucket, PREFIX)
    before = _counts(filled_db)
    engine = create_engine(filled_db)
    with engine.begin() as conn:  # the store moves on after the backup
        conn.execute(text("DELETE FROM swaps WHERE id > 100"))
        conn.execute(text("UPDATE checkpoints SET block_number = 1"))
    engine.dispose()
    from functions.backup.errors import TargetNotEmpty

    with pytest.raises(TargetNotEmpty):
        restore(bucket, PREFIX, m, filled_db)
    assert _counts(filled_db)["swaps"] == 100  # untouched

    taken: list[str] = []

    def pre() -> str:
        taken.append(create_backup(filled_db, bucket, PREFIX, reason="pre-restore").id)
        return taken[-1]

    result = restore(bucket, PREFIX, m, filled_db, force=True, pre_backup=pre)
    assert result.pre_restore_backup == taken[0]
    assert _counts(filled_db) == before
    engine = create_engine(filled_db)
    assert current_revision(engine) == head_revision()
    engine.dispose()
    entries = catalog.scan(bucket, PREFIX)
    pre_manifest = catalog.find(entries, taken[0]).manifest
    assert pre_manifest is not None and pre_manifest.reason == "pre-restore"
    assert pre_manifest.table("swaps").rows == 100  # type: ignore[union-attr]
