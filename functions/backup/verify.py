"""Verifying a backup: re-read it against its manifest and restore it into a scratch database.

The outcome is stored beside the manifest (``verification.json``): "verified", or "failed" with
every problem named. A check never deletes anything. Only findings about the backup itself (a
missing or unreadable manifest, an object truncated or altered, rows that do not match) mark it
failed; a scratch server or S3 that is unreachable is raised to the caller instead, since it
says nothing about the backup.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from functions.backup import layout
from functions.backup.catalog import BackupEntry, read_entry
from functions.backup.dump import Progress
from functions.backup.errors import BackupCorrupt
from functions.backup.manifest import Verification, dump_json
from functions.backup.objects import ObjectStore
from functions.backup.restore import RestoreResult, restore
from functions.backup.scratch import scratch_database

# Runs on the restored scratch database before it is dropped; returns problems (drill invariants).
Inspect = Callable[[str], list[str]]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    backup_id: str
    verification: Verification
    restore: RestoreResult | None
    size: int
    age_s: float


def verify(
    store: ObjectStore,
    prefix: str,
    entry: BackupEntry,
    scratch_server: str | None,
    *,
    kind: str = "verify",
    inspect: Inspect | None = None,
    tmp_dir: Path | None = None,
    progress: Progress | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> VerifyResult:
    started = time.monotonic()
    read_entry(store, prefix, entry)  # fresh: the listing may be older than this check
    problems: list[str] = []
    result: RestoreResult | None = None
    rto: float | None = None
    manifest = entry.manifest
    if manifest is None:
        problems.append(
            entry.manifest_problem
            or f"backup {entry.id} has no manifest: it is incomplete and cannot be restored"
        )
    else:
        listed = entry.objects.get(layout.DATA)
        if listed is None:
            problems.append(f"object {layout.DATA} is missing")
        else:
            with scratch_database(manifest.dialect, scratch_server, tmp_dir) as url:
                try:
                    result = restore(store, prefix, manifest, url, progress=progress)
                    rto = round(time.monotonic() - started, 3)
                    if inspect is not None:
                        problems.extend(inspect(url))
                except BackupCorrupt as err:
                    problems.extend(err.problems)
    record = Verification(
        state="failed" if problems else "verified",
        checked_at=clock(),
        kind="drill" if kind == "drill" else "verify",
        problems=problems,
        duration_s=round(time.monotonic() - started, 3),
        rto_s=rto if kind == "drill" else None,
        scratch=manifest.dialect if manifest else None,
    )
    store.put(layout.key(prefix, entry.id, layout.VERIFICATION), dump_json(record))
    entry.verification = record
    size = manifest.stored_bytes if manifest else sum(o.size for o in entry.objects.values())
    age = (clock() - entry.started_at).total_seconds()
    return VerifyResult(entry.id, record, result, size, age)
