"""Where the buckets keep things (prefixes) and for how long (days), and the logs' retention."""

from __future__ import annotations

# Retention tiers of the backups (001 backup.sh: daily 30, weekly 90, monthly 365 days; the
# backup functions' retention applies them per backup from its manifest). The bucket's lifecycle
# follows the same boundaries: cheaper storage once only weekly and monthly backups are left
# (30 days), colder once only monthly ones are (90), gone after the last tier (365).
BACKUP_TIERS: dict[str, int] = {"daily": 30, "weekly": 90, "monthly": 365}
BACKUPS_PREFIX = "backups"  # EDGE_OPS_BACKUP_LOCATION = s3://<backups bucket>/backups
REPORTS_PREFIX = "reports"  # EDGE_OPS_REPORT_TO
ARCHIVE_PREFIX = "archive"  # EDGE_OPS_PRUNE_ARCHIVE_TO: pruned rows, kept (never expired)
INCIDENTS_PREFIX = "incidents"  # runbooks' incident reports
REPORTS_DAYS = 365
NONCURRENT_DAYS = 30  # a deleted or overwritten object stays recoverable this long
ABORT_MULTIPART_DAYS = 1  # functions/backup aborts its own after 24 h; this is the floor
LOG_RETENTION_DAYS = 90  # 001 archives logs older than 30 days monthly; kept a quarter here
