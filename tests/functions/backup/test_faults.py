"""Faults: the database gone mid-dump, S3 refusing a part, and damaged backups (a flipped byte,
a truncated object, a missing or mismatching manifest). Each leaves nothing that looks like a
backup, or is found, named and marked failed, never deleted by the check."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from functions.backup import catalog, layout
from functions.backup.create import BackupOptions, create_backup, table_entries
from functions.backup.errors import BackupCorrupt, SourceUnavailable
from functions.backup.manifest import Manifest, dump_json
from functions.backup.objects import S3Objects
from functions.backup.restore import restore
from functions.backup.verify import verify
from shared.db.engine import create_engine
from tests.conftest import postgres_base_url
from tests.functions.backup.conftest import PREFIX
from tests.functions.backup.store_data import populate
from tests.functions.conftest import TEST_BUCKET


def _nothing_left(s3: Any) -> None:
    assert s3.list_objects_v2(Bucket=TEST_BUCKET).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=TEST_BUCKET).get("Uploads", []) == []


@pytest.mark.postgres
@pytest.mark.slow
def test_database_terminated_mid_dump_aborts_the_upload(
    pg_url: str, bucket: S3Objects, s3_client: Any
) -> None:
    populate(pg_url, 150_000)
    app = f"edge-backup-{uuid.uuid4().hex[:8]}"
    url = (
        make_url(pg_url)
        .update_query_dict({"application_name": app})
        .render_as_string(hide_password=False)
    )
    admin = create_engine(postgres_base_url())
    parts_before_kill: list[int] = []

    def kill_when_swaps_half_done(table: str, rows: int) -> None:
        if table == "swaps" and rows >= 100_000 and not parts_before_kill:
            uploads = s3_client.list_multipart_uploads(Bucket=TEST_BUCKET).get("Uploads", [])
            (up,) = uploads
            parts = s3_client.list_parts(Bucket=TEST_BUCKET, Key=up["Key"], UploadId=up["UploadId"])
            parts_before_kill.append(len(parts.get("Parts", [])))
            with admin.begin() as conn:
                killed = conn.execute(
                    text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                        " WHERE application_name = :a"
                    ),
                    {"a": app},
                ).scalar_one()
            assert killed == 1

    try:
        with pytest.raises(SourceUnavailable, match="failed during the dump"):
            create_backup(
                url,
                bucket,
                PREFIX,
                options=BackupOptions(part_size=5 * 1024 * 1024),
                progress=kill_when_swaps_half_done,
            )
    finally:
        admin.dispose()
    assert parts_before_kill and parts_before_kill[0] >= 1  # parts were in S3 when it died
    _nothing_left(s3_client)
    assert catalog.scan(bucket, PREFIX) == []


def test_s3_refusing_a_part_aborts_the_upload(
    filled_db: str, bucket: S3Objects, s3_client: Any
) -> None:
    calls: list[int] = []

    def refuse_third_part(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["PartNumber"])
        if params["PartNumber"] == 3:
            raise ClientError(
                {"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}},
                "UploadPart",
            )

    s3_client.meta.events.register("provide-client-params.s3.UploadPart", refuse_third_part)
    try:
        with pytest.raises(SourceUnavailable, match="part 3"):
            create_backup(filled_db, bucket, PREFIX, options=BackupOptions(part_size=16 * 1024))
    finally:
        s3_client.meta.events.unregister("provide-client-params.s3.UploadPart", refuse_third_part)
    assert calls == [1, 2, 3]
    _nothing_left(s3_client)


def test_manifest_refused_removes_the_data_object(
    filled_db: str, bucket: S3Objects, s3_client: Any
) -> None:
    def refuse_manifest(params: dict[str, Any], **_: Any) -> None:
        if params["Key"].endswith(layout.MANIFEST):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "PutObject")

    s3_client.meta.events.register("provide-client-params.s3.PutObject", refuse_manifest)
    try:
        with pytest.raises(SourceUnavailable, match="AccessDenied"):
            create_backup(filled_db, bucket, PREFIX)
    finally:
        s3_client.meta.events.unregister("provide-client-params.s3.PutObject", refuse_manifest)
    _nothing_left(s3_client)


def _flip(bucket: S3Objects, m: Manifest) -> None:
    key = layout.key(PREFIX, m.id, layout.DATA)
    body = bytearray(bucket.get(key))
    body[len(body) // 3] ^= 0x40
    bucket.put(key, bytes(body))


def _truncate(bucket: S3Objects, m: Manifest) -> None:
    key = layout.key(PREFIX, m.id, layout.DATA)
    bucket.put(key, bucket.get(key)[: m.stored_bytes * 2 // 3])


def _drop_manifest(bucket: S3Objects, m: Manifest) -> None:
    bucket.delete([layout.key(PREFIX, m.id, layout.MANIFEST)])


def _mismatch_manifest(bucket: S3Objects, m: Manifest) -> None:
    tables = [
        t.model_copy(update={"rows": t.rows + 1}) if t.name == "swaps" else t for t in m.tables
    ]
    bucket.put(
        layout.key(PREFIX, m.id, layout.MANIFEST),
        dump_json(m.model_copy(update={"tables": tables})),
    )


def _garble_manifest(bucket: S3Objects, m: Manifest) -> None:
    doc = json.loads(dump_json(m))
    del doc["tables"]
    bucket.put(layout.key(PREFIX, m.id, layout.MANIFEST), json.dumps(doc).encode())


DAMAGES: dict[str, tuple[Callable[[S3Objects, Manifest], None], str]] = {
    "flipped byte": (_flip, "was altered"),
    "truncated object": (_truncate, "is truncated"),
    "missing manifest": (_drop_manifest, "has no manifest"),
    "manifest mismatch": (
        _mismatch_manifest,
        "table swaps: the data holds 1200 rows, the manifest says 1201",
    ),
    "unreadable manifest": (_garble_manifest, "manifest"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_backup_is_named_and_marked_failed_never_deleted(
    damage: str, filled_db: str, bucket: S3Objects
) -> None:
    m = create_backup(filled_db, bucket, PREFIX)
    make, expected = DAMAGES[damage]
    make(bucket, m)
    before = {o.key for o in bucket.listing(PREFIX)}
    entry = catalog.find(catalog.scan(bucket, PREFIX), m.id)
    scratch = None if filled_db.startswith("sqlite") else postgres_base_url()
    result = verify(bucket, PREFIX, entry, scratch)
    assert result.verification.state == "failed"
    assert any(expected in p for p in result.verification.problems), result.verification.problems
    after = {o.key for o in bucket.listing(PREFIX)}
    assert before <= after and layout.key(PREFIX, m.id, layout.VERIFICATION) in after
    assert catalog.find(catalog.scan(bucket, PREFIX), m.id).state == "failed"
    # "latest" for a restore never picks a failed backup
    if damage not in ("missing manifest",):
        with pytest.raises(Exception, match="no backup"):
            catalog.find(catalog.scan(bucket, PREFIX), "latest", usable=True)


def test_restore_of_a_damaged_backup_leaves_the_target_as_it_was(
    filled_db: str, bucket: S3Objects
) -> None:
    m = create_backup(filled_db, bucket, PREFIX)
    engine = create_engine(filled_db)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM swaps WHERE id > 700"))
    engine.dispose()
    _truncate(bucket, m)
    with pytest.raises(BackupCorrupt, match="truncated"):
        restore(bucket, PREFIX, m, filled_db, force=True)
    engine = create_engine(filled_db)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM swaps")).scalar_one() == 700
        assert conn.execute(text("SELECT count(*) FROM candles")).scalar_one() > 0
    engine.dispose()


def _rewrite_with_null_block_number(bucket: S3Objects, m: Manifest) -> Manifest:
    """A backup consistent with its manifest whose rows cannot load (NULL in a NOT NULL column):
    made by a faulty writer, not by damage in storage."""
    import io

    import zstandard

    from functions.backup.archive import ArchiveWriter, Rows, TableEnd, TableStart, read_archive
    from functions.backup.manifest import ObjectEntry
    from functions.backup.upload import CompressedUpload

    key = layout.key(PREFIX, m.id, layout.DATA)
    raw = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(bucket.get(key)))
    upload = CompressedUpload(bucket.start_upload(key))
    writer = ArchiveWriter(upload.writer)
    for ev in read_archive(raw):
        if isinstance(ev, TableStart):
            writer.begin_table(ev.name, ev.columns, ev.order_by)
            col = ev.columns.index("block_number") if ev.name == "swaps" else None
        elif isinstance(ev, Rows):
            data = ev.data
            if col is not None:
                first, rest = data.split(b"\n", 1)
                fields = first.split(b"\t")
                fields[col] = b"\\N"
                data = b"\t".join(fields) + b"\n" + rest
                col = None
            writer.write_rows(data)
        elif isinstance(ev, TableEnd):
            writer.end_table()
    writer.finish()
    size, sha, parts = upload.close()
    fixed = m.model_copy(
        update={
            "tables": table_entries(writer),
            "objects": [ObjectEntry(name=layout.DATA, size=size, sha256=sha, parts=parts)],
            "stored_bytes": size,
        }
    )
    bucket.put(layout.key(PREFIX, m.id, layout.MANIFEST), dump_json(fixed))
    return fixed


def test_rows_that_match_their_manifest_but_do_not_load_fail_verification(
    filled_db: str, bucket: S3Objects
) -> None:
    m = _rewrite_with_null_block_number(bucket, create_backup(filled_db, bucket, PREFIX))
    entry = catalog.find(catalog.scan(bucket, PREFIX), m.id)
    scratch = None if filled_db.startswith("sqlite") else postgres_base_url()
    result = verify(bucket, PREFIX, entry, scratch)
    assert result.verification.state == "failed"
    assert any("do not load" in p and "block_number" in p for p in result.verification.problems), (
        result.verification.problems
    )
