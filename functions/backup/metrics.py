"""The backup functions' CloudWatch metrics (EMF, namespace EdgeOps, dimension service) and
their schedules: one list, for the handlers, the README and the alarms of the Pulumi issue.

An alarm that means something watches the *age of the newest verified backup* (missing data
treated as breaching), the *last verification and drill results*, and the *backup failures*:
a backup can fail quietly for weeks if only its success is watched.
"""

from __future__ import annotations

BACKUP_SUCCEEDED = "BackupSucceeded"  # Count, 1 per successful backup
BACKUP_FAILED = "BackupFailed"  # Count, 1 per failed backup (the function also raises)
BACKUP_BYTES = "BackupBytes"  # Bytes stored (compressed) by this backup
BACKUP_SECONDS = "BackupSeconds"  # Seconds the backup took
NEWEST_VERIFIED_AGE = "NewestVerifiedBackupAgeSeconds"  # Seconds since the newest verified began
NEWEST_VERIFIED_BYTES = "NewestVerifiedBackupBytes"  # Bytes of that backup
VERIFIED_BACKUPS = "VerifiedBackups"  # Count of backups whose latest verification passed
VERIFICATION_RESULT = "VerificationResult"  # 1 verified, 0 failed (the last verification)
DRILL_RESULT = "DrillResult"  # 1 passed, 0 failed (restore, checks and invariants)
DRILL_RTO_SECONDS = "DrillRtoSeconds"  # Seconds from start to a restored, checked store
RETENTION_DELETED = "RetentionDeletedBackups"  # Count deleted by retention this run
RETENTION_KEPT = "RetentionKeptBackups"  # Count kept
ORPHANS_DELETED = "OrphanObjectsDeleted"  # Count of objects of backups that never completed

ALL = (
    BACKUP_SUCCEEDED, BACKUP_FAILED, BACKUP_BYTES, BACKUP_SECONDS, NEWEST_VERIFIED_AGE,
    NEWEST_VERIFIED_BYTES, VERIFIED_BACKUPS, VERIFICATION_RESULT, DRILL_RESULT, DRILL_RTO_SECONDS,
    RETENTION_DELETED, RETENTION_KEPT, ORPHANS_DELETED,
)  # fmt: skip

# EventBridge schedules (UTC). Seeds: daily backup 02:00 (002); weekly verification on Monday
# (001 weekly tasks); the disaster-recovery drill on the 15th (001); retention after the backup.
SCHEDULES = {
    "backup": "cron(0 2 * * ? *)",
    "retention": "cron(30 3 * * ? *)",
    "verify": "cron(0 4 ? * MON *)",
    "drill": "cron(0 5 15 * ? *)",
}
# The seeds' recovery time objective for the drill (001: under 30 minutes).
RTO_TARGET_S = 30 * 60
