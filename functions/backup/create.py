"""Taking a backup: dump, compress and upload the data, then write the manifest last.

Nothing that looks like a backup is left by a failure: the data goes up as one multipart
upload, aborted on any error (the dump failing, S3 refusing a part, an interrupt); the manifest,
which alone makes a backup exist, is written only after the data object is complete. A process
killed outright leaves an unfinished upload (never listed as an object) that the retention
clean-up aborts a day later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from functions.backup import layout
from functions.backup.archive import ArchiveWriter
from functions.backup.dump import Progress, dump
from functions.backup.manifest import Manifest, ObjectEntry, TableEntry, dump_json
from functions.backup.objects import ObjectStore
from functions.backup.upload import DEFAULT_LEVEL, DEFAULT_PART_SIZE, CompressedUpload
from shared.db.engine import redact_url

log = logging.getLogger(__name__)


def _quietly(step: Callable[[], None], what: str) -> None:
    """A clean-up step after a failure: its own failure is logged, never hides the first."""
    try:
        step()
    except Exception:
        log.warning(
            "could not %s after a failed backup (the retention clean-up will)", what, exc_info=True
        )


@dataclass(frozen=True, slots=True)
class BackupOptions:
    part_size: int = DEFAULT_PART_SIZE
    level: int = DEFAULT_LEVEL
    tmp_dir: Path | None = None


def table_entries(writer: ArchiveWriter) -> list[TableEntry]:
    """The manifest's entries for the tables ``writer`` has written, in archive order."""
    return [
        TableEntry(
            name=t.name,
            columns=t.columns,
            order_by=t.order_by,
            rows=t.rows,
            raw_bytes=t.raw_bytes,
            sha256=t.sha256,
        )
        for t in writer.tables
    ]


def create_backup(
    db_url: str,
    store: ObjectStore,
    prefix: str,
    *,
    reason: str = "manual",
    options: BackupOptions = BackupOptions(),
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Manifest:
    started = clock()
    backup_id = layout.new_backup_id(started)
    upload = CompressedUpload(
        store.start_upload(layout.key(prefix, backup_id, layout.DATA)),
        options.part_size,
        options.level,
    )
    try:
        writer = ArchiveWriter(upload.writer)
        info = dump(db_url, writer, progress, options.tmp_dir)
        writer.finish()
        size, sha, parts = upload.close()
    except BaseException:
        # BaseException too: an interrupt (Ctrl-C, a Lambda timeout's signal) must abort as well.
        _quietly(upload.abort, "abort the upload")
        raise
    tables = table_entries(writer)
    manifest = Manifest(
        id=backup_id,
        dialect=info.dialect,
        server_version=info.server_version,
        revision=info.revision,
        source=redact_url(db_url),
        started_at=started,
        finished_at=clock(),
        tables=tables,
        sequences=info.sequences,
        objects=[ObjectEntry(name=layout.DATA, size=size, sha256=sha, parts=parts)],
        raw_bytes=sum(t.raw_bytes for t in tables),
        stored_bytes=size,
        reason=reason,
    )
    try:
        store.put(layout.key(prefix, backup_id, layout.MANIFEST), dump_json(manifest))
    except BaseException:
        # Without its manifest the data object is an orphan; remove it now rather than a day later.
        _quietly(lambda: store.delete([layout.key(prefix, backup_id, layout.DATA)]), "remove data")
        raise
    return manifest
