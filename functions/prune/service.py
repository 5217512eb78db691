"""The whole retention run both shells call: prune, VACUUM ANALYZE, measure the size."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput
from functions.common.s3url import S3Location
from functions.prune import core, maintenance

# EMF metric names (namespace EdgeOps), declared in settings; seed 000 alarms on
# database_size_mb > 1000.
from functions.prune.settings import DATABASE_SIZE_MB as DATABASE_SIZE_MB
from functions.prune.settings import PRUNE_BYTES_ARCHIVED as PRUNE_BYTES_ARCHIVED
from functions.prune.settings import PRUNE_ROWS_ARCHIVED as PRUNE_ROWS_ARCHIVED
from functions.prune.tables import by_name as tables_by_name

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from sqlalchemy import Engine

    from functions.common.store import Store

# Seed 001 deletes data older than 90 days; nothing younger than a day is ever archived (a
# typo such as "0d" must not empty the journal).
DEFAULT_OLDER_THAN = "90d"
MIN_OLDER_THAN = timedelta(days=1)
_AGE = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_age(text: str) -> timedelta:
    m = _AGE.match(text or "")
    if m is None:
        raise BadInput(f"--older-than {text!r}: write a number and a unit, e.g. 90d, 12w or 36h")
    age = int(m.group(1)) * _UNIT[m.group(2)]
    if age < MIN_OLDER_THAN:
        raise BadInput(f"--older-than {text!r}: at least 1d (nothing younger is ever archived)")
    return age


def run(
    store: Store,
    s3: S3Client,
    dest: S3Location,
    *,
    now: datetime,
    older_than: timedelta,
    batch_size: int = core.DEFAULT_BATCH,
    tables: list[str] | None = None,
    dry_run: bool = False,
    vacuum: bool = True,
    progress: core.Progress | None = None,
) -> dict[str, Any]:
    if not dest.prefix:
        raise BadInput(f"{dest.url()} names a whole bucket: archive under a prefix")
    if batch_size < 1:
        raise BadInput("--batch-size must be at least 1")
    try:
        names = tables or None
        tables_by_name(names)
    except ValueError as err:
        raise BadInput(str(err)) from None

    def work(engine: Engine) -> dict[str, Any]:
        before = maintenance.database_size_bytes(engine)
        result = core.prune(
            engine,
            s3,
            dest,
            now=now,
            older_than=older_than,
            batch_size=batch_size,
            tables=names,
            dry_run=dry_run,
            progress=progress,
        )
        vacuumed = vacuum and not dry_run and result.rows > 0
        if vacuumed:
            maintenance.vacuum_analyze(engine)
        after = maintenance.database_size_bytes(engine)
        return {
            **result.as_dict(),
            "vacuumed": vacuumed,
            "database_size_bytes_before": before,
            "database_size_bytes": after,
            DATABASE_SIZE_MB: round(after / 2**20, 3),
        }

    return store.run(work)
