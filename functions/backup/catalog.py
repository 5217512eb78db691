"""What backups exist under a prefix: read from manifests, never guessed from object names.

A backup exists when its manifest does. Ids with objects but no manifest are incomplete (a
backup in progress, or one that died) and are never offered for restore; the retention
clean-up removes them once they are a day old.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from functions.backup import layout
from functions.backup.errors import BackupCorrupt, BackupNotFound
from functions.backup.manifest import Manifest, Verification, load_manifest, load_verification
from functions.backup.objects import ObjectInfo, ObjectStore

State = Literal["verified", "failed", "unverified", "incomplete"]


@dataclass(slots=True)
class BackupEntry:
    id: str
    objects: dict[str, ObjectInfo] = field(default_factory=dict)
    manifest: Manifest | None = None
    manifest_problem: str | None = None
    verification: Verification | None = None

    @property
    def state(self) -> State:
        if self.verification is not None and self.verification.state == "failed":
            return "failed"
        if self.manifest_problem is not None:
            return "failed"
        if self.manifest is None:
            return "incomplete"
        if self.verification is not None:
            return "verified"
        return "unverified"

    @property
    def started_at(self) -> datetime:
        return self.manifest.started_at if self.manifest else layout.id_time(self.id)

    @property
    def newest_object(self) -> datetime | None:
        return max((o.modified for o in self.objects.values()), default=None)


def scan(store: ObjectStore, prefix: str, read: bool = True) -> list[BackupEntry]:
    """Every backup id under ``prefix``, oldest first, with its manifest and verification read."""
    entries: dict[str, BackupEntry] = {}
    for obj in store.listing(layout.list_prefix(prefix)):
        parsed = layout.parse_key(prefix, obj.key)
        if parsed is None:
            continue
        entries.setdefault(parsed.backup_id, BackupEntry(parsed.backup_id)).objects[parsed.name] = (
            obj
        )
    result = [entries[k] for k in sorted(entries)]
    if read:
        for entry in result:
            read_entry(store, prefix, entry)
    return result


def read_entry(store: ObjectStore, prefix: str, entry: BackupEntry) -> None:
    if layout.MANIFEST in entry.objects:
        where = layout.key(prefix, entry.id, layout.MANIFEST)
        try:
            entry.manifest = load_manifest(store.get(where), where)
            named = entry.manifest.id
            if named != entry.id:
                entry.manifest = None
                entry.manifest_problem = f"manifest {where} names backup {named}"
        except BackupCorrupt as err:
            entry.manifest_problem = str(err)
    if layout.VERIFICATION in entry.objects:
        where = layout.key(prefix, entry.id, layout.VERIFICATION)
        try:
            entry.verification = load_verification(store.get(where), where)
        except BackupCorrupt:
            entry.verification = None  # an unreadable record is no verification


def find(entries: list[BackupEntry], name: str, usable: bool = False) -> BackupEntry:
    """The backup called ``name`` (an id or "latest"). ``usable``: latest skips failed ones."""
    if name == "latest":
        candidates = [
            e for e in entries if e.manifest is not None and not (usable and e.state == "failed")
        ]
        if not candidates:
            raise BackupNotFound(
                "there is no backup" + (" that has not failed verification" if usable else "")
            )
        return max(candidates, key=lambda e: (e.started_at, e.id))
    if not layout.is_backup_id(name):
        raise BackupNotFound(
            f"{name!r} is not a backup id (like 20250101T020000Z-1a2b3c) nor 'latest'"
        )
    for e in entries:
        if e.id == name:
            return e
    raise BackupNotFound(f"there is no backup {name}")
