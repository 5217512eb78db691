"""The backup operations as the handlers and ``edge-ops`` run them: settings, the object store
for a location, the store URL through ``functions.common.store`` (secrets refetched once on a
refused login), and the figures the metrics publish. No AWS client is created here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr

from functions.backup import catalog
from functions.backup.catalog import BackupEntry
from functions.backup.create import BackupOptions, create_backup
from functions.backup.drill import drill
from functions.backup.dump import Progress
from functions.backup.manifest import Manifest
from functions.backup.objects import S3Objects
from functions.backup.restore import RestoreResult, restore
from functions.backup.retention import RetentionPolicy, RetentionResult, apply
from functions.backup.verify import VerifyResult, verify
from functions.common.errors import BadInput
from functions.common.s3url import S3Location
from functions.common.settings import OpsSettings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from sqlalchemy import Engine

    from functions.common.store import Store

MIB = 1024 * 1024


class BackupSettings(OpsSettings):
    backup_location: str | None = None  # EDGE_OPS_BACKUP_LOCATION, s3://bucket/prefix
    # Server for scratch databases (verify, drill); default: the server of the database URL.
    scratch_url: SecretStr | None = None  # EDGE_OPS_SCRATCH_URL
    backup_part_mib: int = Field(default=8, ge=5, le=512)
    backup_sse: Literal["AES256", "aws:kms"] = "AES256"
    backup_kms_key_id: str | None = None
    backup_tmp_dir: Path | None = None  # Lambda: /tmp (SQLite snapshots, scratch files)
    retention_daily_days: int = Field(default=30, ge=1)
    retention_weekly_days: int = Field(default=90, ge=1)
    retention_monthly_days: int = Field(default=365, ge=1)
    retention_keep_verified: int = Field(default=3, ge=1)
    retention_orphan_hours: float = Field(default=24, ge=0)

    def location(self, given: str | None = None) -> S3Location:
        url = given or self.backup_location
        if not url:
            raise BadInput(
                "no backup location: pass --to/--from s3://BUCKET/PREFIX "
                "or set EDGE_OPS_BACKUP_LOCATION"
            )
        # A prefix is required: retention deletes under it, and a bucket's root is never ours.
        return S3Location.parse(url, require_prefix=True)

    def policy(self) -> RetentionPolicy:
        return RetentionPolicy(
            daily_days=self.retention_daily_days,
            weekly_days=self.retention_weekly_days,
            monthly_days=self.retention_monthly_days,
            keep_verified=self.retention_keep_verified,
            orphan_age=timedelta(hours=self.retention_orphan_hours),
        )

    def scratch_server(self, given: str | None = None) -> str | None:
        if given:
            return given
        if self.scratch_url is not None:
            return self.scratch_url.get_secret_value()
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return None


def objects(s3: S3Client, location: S3Location, settings: BackupSettings) -> S3Objects:
    return S3Objects(s3, location.bucket, settings.backup_sse, settings.backup_kms_key_id)


def url_of(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def take_backup(
    settings: BackupSettings, store: Store, s3: S3Client, location: S3Location, *, reason: str,
    progress: Progress | None = None,
) -> Manifest:  # fmt: skip
    options = BackupOptions(
        part_size=settings.backup_part_mib * MIB, tmp_dir=settings.backup_tmp_dir
    )
    bucket = objects(s3, location, settings)
    return store.run(
        lambda engine: create_backup(
            url_of(engine),
            bucket,
            location.prefix,
            reason=reason,
            options=options,
            progress=progress,
        )
    )


@dataclass(frozen=True, slots=True)
class BackupListing:
    location: str
    backups: list[dict[str, object]]
    incomplete: list[str]


def describe(entry: BackupEntry, now: datetime) -> dict[str, object]:
    m = entry.manifest
    v = entry.verification
    return {
        "id": entry.id,
        "started_at": entry.started_at,
        "age_s": round((now - entry.started_at).total_seconds()),
        "size_bytes": m.stored_bytes if m else None,
        "rows": m.rows if m else None,
        "revision": m.revision if m else None,
        "dialect": m.dialect if m else None,
        "reason": m.reason if m else None,
        "state": entry.state,
        "checked_at": v.checked_at if v else None,
        "problems": (v.problems if v else [])
        + ([entry.manifest_problem] if entry.manifest_problem else []),
    }


def list_backups(
    settings: BackupSettings, s3: S3Client, location: S3Location, now: datetime | None = None
) -> BackupListing:
    now = now or datetime.now(UTC)
    entries = catalog.scan(objects(s3, location, settings), location.prefix)
    listed = [
        describe(e, now)
        for e in entries
        if e.manifest is not None or e.manifest_problem is not None
    ]
    incomplete = [e.id for e in entries if e.manifest is None and e.manifest_problem is None]
    return BackupListing(str(location), listed, incomplete)


def run_verify(
    settings: BackupSettings, s3: S3Client, location: S3Location, name: str = "latest",
    scratch: str | None = None, *, kind: Literal["verify", "drill"] = "verify",
    progress: Progress | None = None,
) -> VerifyResult:  # fmt: skip
    bucket = objects(s3, location, settings)
    # "latest" needs every manifest read; a named backup is read by the check itself.
    entry = catalog.find(catalog.scan(bucket, location.prefix, read=name == "latest"), name)
    run = drill if kind == "drill" else verify
    return run(
        bucket,
        location.prefix,
        entry,
        settings.scratch_server(scratch),
        tmp_dir=settings.backup_tmp_dir,
        progress=progress,
    )


def run_restore(
    settings: BackupSettings, s3: S3Client, location: S3Location, name: str, target: Store,
    *, force: bool, progress: Progress | None = None,
) -> RestoreResult:  # fmt: skip
    bucket = objects(s3, location, settings)
    entries = catalog.scan(bucket, location.prefix)
    entry = catalog.find(entries, name, usable=True)
    if entry.manifest is None:
        raise BadInput(f"backup {entry.id} has no readable manifest: it cannot be restored")
    manifest = entry.manifest

    def pre_backup() -> str:
        return take_backup(settings, target, s3, location, reason="pre-restore").id

    return target.run(
        lambda engine: restore(
            bucket,
            location.prefix,
            manifest,
            url_of(engine),
            force=force,
            pre_backup=pre_backup,
            progress=progress,
        )
    )


def run_retention(
    settings: BackupSettings, s3: S3Client, location: S3Location, *, now: datetime | None = None,
    dry_run: bool = False, policy: RetentionPolicy | None = None,
) -> RetentionResult:  # fmt: skip
    bucket = objects(s3, location, settings)
    entries = catalog.scan(bucket, location.prefix)
    return apply(
        bucket,
        location.prefix,
        entries,
        now or datetime.now(UTC),
        policy or settings.policy(),
        dry_run,
    )


@dataclass(frozen=True, slots=True)
class Freshness:
    verified_backups: int
    newest_verified_id: str | None
    newest_verified_age_s: float | None
    newest_verified_bytes: int | None


def freshness(
    settings: BackupSettings, s3: S3Client, location: S3Location, now: datetime | None = None
) -> Freshness:
    """The figures the age alarm watches, from the manifests and verification records."""
    now = now or datetime.now(UTC)
    entries = [
        e
        for e in catalog.scan(objects(s3, location, settings), location.prefix)
        if e.state == "verified"
    ]
    if not entries:
        return Freshness(0, None, None, None)
    newest = max(entries, key=lambda e: e.started_at)
    m = newest.manifest
    return Freshness(
        len(entries),
        newest.id,
        round((now - newest.started_at).total_seconds(), 1),
        m.stored_bytes if m else None,
    )
