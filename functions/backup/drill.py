"""The monthly disaster-recovery drill: restore the latest backup into a scratch database,
verify it against its manifest, check the store's invariants on it, and measure the recovery
time (RTO: from the start to a restored, checked store migrated to head)."""

from __future__ import annotations

from pathlib import Path

from functions.backup.catalog import BackupEntry
from functions.backup.dump import Progress
from functions.backup.invariants import invariant_problems
from functions.backup.objects import ObjectStore
from functions.backup.verify import VerifyResult, verify


def drill(
    store: ObjectStore,
    prefix: str,
    entry: BackupEntry,
    scratch_server: str | None,
    tmp_dir: Path | None = None,
    progress: Progress | None = None,
) -> VerifyResult:
    return verify(
        store,
        prefix,
        entry,
        scratch_server,
        kind="drill",
        inspect=invariant_problems,
        tmp_dir=tmp_dir,
        progress=progress,
    )
