"""The prune function's settings and metrics: imported by the handler and by the Pulumi
program's drift test (tests/infra), with no side effect (the handler's import sets up logging
and metrics). Its schedule: daily at 23:00 UTC (seed 001), infra/catalog/.
"""

from __future__ import annotations

from pydantic import Field

from functions.common.settings import OpsSettings

SCHEDULE = "cron(0 23 * * ? *)"


class PruneSettings(OpsSettings):
    prune_archive_to: str = Field(min_length=6)
    prune_older_than: str = "90d"
    prune_batch_size: int = Field(default=5000, ge=1, le=100_000)


DATABASE_SIZE_MB = "database_size_mb"  # Megabytes; seed 000 alarms above 1000
PRUNE_ROWS_ARCHIVED = "prune_rows_archived"  # Count
PRUNE_BYTES_ARCHIVED = "prune_bytes_archived"  # Bytes
PRUNE_FAILED = "prune_failed"  # Count: 1 failed, 0 done

# metric -> its dimensions besides service and environment (none)
DIMENSIONS: dict[str, tuple[str, ...]] = {
    DATABASE_SIZE_MB: (),
    PRUNE_ROWS_ARCHIVED: (),
    PRUNE_BYTES_ARCHIVED: (),
    PRUNE_FAILED: (),
}
