"""The age of the newest verified backup, read from the backups' catalog in S3 (the manifests
and verification records the backup functions write: ``functions.backup.catalog``).

Only the listing and the newest backups' small JSON records are read, newest first, until a
verified one is found: a minute's probe costs one listing and a couple of GETs, not every
manifest. Only the catalog's light modules are imported (no compression library): the probe's
artifact carries ``functions/backup`` but not its dependency group (functions/packaging.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from functions.common.s3url import S3Location
from functions.probe.checks import BackupReading

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def newest_verified(
    s3: S3Client, location: S3Location, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> BackupReading:
    """Raises the catalog's errors (``Unavailable``, ``BadInput``): the probe reports them."""
    from functions.backup import catalog
    from functions.backup.objects import S3Objects

    store = S3Objects(s3, location.bucket)
    for entry in reversed(catalog.scan(store, location.prefix, read=False)):
        catalog.read_entry(store, location.prefix, entry)
        if entry.state == "verified":
            age = (now() - entry.started_at).total_seconds()
            return BackupReading(age_s=round(max(0.0, age), 1), backup_id=entry.id)
    return BackupReading()
