"""Retention by tier, decided from manifests, and the clean-up of what never became a backup.

Pure decisions first (``decide``, ``orphans``), a thin shell (``apply``) after. Tiers:

- daily: every backup is kept ``daily_days`` (30) days;
- weekly: the first good backup (not failed) of each ISO week is kept ``weekly_days`` (90);
- monthly: the first good backup of each calendar month is kept ``monthly_days`` (365);
- and whatever their age, the newest ``keep_verified`` (3) verified backups, and the newest
  good backup, are never deleted: when every recent backup fails, the last good ones stay
  (age-based clean-up once deleted every backup while new ones were failing).

Ages come from the manifest's start time, never from object dates. Orphans (ids whose objects
have no manifest: a backup that died, or one still running) are removed only once their newest
object is older than ``orphan_age`` (a day), and unfinished multipart uploads likewise. Only keys
shaped ``<prefix>/<id>/<file>`` are ever considered, so nothing else in the bucket is touched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from functions.backup import layout
from functions.backup.catalog import BackupEntry
from functions.backup.objects import ObjectStore, PendingUpload


class RetentionPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    daily_days: int = Field(default=30, ge=1)
    weekly_days: int = Field(default=90, ge=1)
    monthly_days: int = Field(default=365, ge=1)
    keep_verified: int = Field(default=3, ge=1)
    orphan_age: timedelta = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Decision:
    backup_id: str
    keep: bool
    reasons: tuple[str, ...]


def decide(entries: list[BackupEntry], now: datetime, policy: RetentionPolicy) -> list[Decision]:
    """Keep or delete each backup that has a manifest (incomplete ones are ``orphans``')."""
    # A backup whose manifest is unreadable is a failed backup: it ages out like the others.
    backups = sorted(
        (e for e in entries if e.manifest is not None or e.manifest_problem is not None),
        key=lambda e: e.started_at,
    )
    good = [e for e in backups if e.state != "failed"]
    first_of_week: dict[tuple[int, int], str] = {}
    first_of_month: dict[tuple[int, int], str] = {}
    for e in good:
        iso = e.started_at.isocalendar()
        first_of_week.setdefault((iso.year, iso.week), e.id)
        first_of_month.setdefault((e.started_at.year, e.started_at.month), e.id)
    weekly, monthly = set(first_of_week.values()), set(first_of_month.values())
    verified = [e.id for e in backups if e.state == "verified"][-policy.keep_verified :]
    newest_good = good[-1].id if good else None
    out = []
    for e in backups:
        age = now - e.started_at
        reasons = []
        if age <= timedelta(days=policy.daily_days):
            reasons.append(f"daily (under {policy.daily_days} days)")
        if e.id in weekly and age <= timedelta(days=policy.weekly_days):
            reasons.append(f"weekly (first of its week, under {policy.weekly_days} days)")
        if e.id in monthly and age <= timedelta(days=policy.monthly_days):
            reasons.append(f"monthly (first of its month, under {policy.monthly_days} days)")
        if e.id in verified:
            reasons.append(f"one of the newest {policy.keep_verified} verified")
        if e.id == newest_good:
            reasons.append("the newest backup not failed")
        out.append(Decision(e.id, bool(reasons), tuple(reasons) or ("older than every tier",)))
    return out


@dataclass(frozen=True, slots=True)
class OrphanPlan:
    keys: list[str]
    uploads: list[PendingUpload]


def orphans(
    entries: list[BackupEntry],
    uploads: list[PendingUpload],
    prefix: str,
    now: datetime,
    policy: RetentionPolicy,
) -> OrphanPlan:
    keys: list[str] = []
    for e in entries:
        newest = e.newest_object
        incomplete = e.manifest is None and e.manifest_problem is None
        if incomplete and newest is not None and now - newest > policy.orphan_age:
            keys.extend(layout.key(prefix, e.id, name) for name in sorted(e.objects))
    stale = []
    for u in uploads:
        parsed = layout.parse_key(prefix, u.key)
        if parsed is None:
            continue
        # The later of S3's "Initiated" and the id's own start time: either alone could make a
        # running backup look old (moto, for one, reports every upload as begun in 2010).
        started = max(u.started, layout.id_time(parsed.backup_id))
        if now - started > policy.orphan_age:
            stale.append(u)
    return OrphanPlan(keys, stale)


@dataclass(slots=True)
class RetentionResult:
    kept: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    orphan_objects_deleted: int = 0
    uploads_aborted: int = 0
    decisions: list[Decision] = field(default_factory=list)


def apply(
    store: ObjectStore,
    prefix: str,
    entries: list[BackupEntry],
    now: datetime,
    policy: RetentionPolicy,
    dry_run: bool = False,
) -> RetentionResult:
    result = RetentionResult(decisions=decide(entries, now, policy))
    by_id = {e.id: e for e in entries}
    doomed: list[str] = []
    for d in result.decisions:
        if d.keep:
            result.kept.append(d.backup_id)
            continue
        result.deleted.append(d.backup_id)
        # The manifest goes first: should the rest fail, what is left is an orphan that the
        # next run cleans up, never a backup whose data is gone.
        doomed.append(layout.key(prefix, d.backup_id, layout.MANIFEST))
        doomed.extend(
            layout.key(prefix, d.backup_id, name)
            for name in sorted(by_id[d.backup_id].objects)
            if name != layout.MANIFEST
        )
    pending = list(store.pending_uploads(layout.list_prefix(prefix)))
    plan = orphans(entries, pending, prefix, now, policy)
    result.orphan_objects_deleted = len(plan.keys)
    result.uploads_aborted = len(plan.uploads)
    if not dry_run:
        manifests = [k for k in doomed if k.endswith("/" + layout.MANIFEST)]
        if manifests:
            store.delete(manifests)
        rest = [k for k in doomed if not k.endswith("/" + layout.MANIFEST)] + plan.keys
        if rest:
            store.delete(rest)
        for upload in plan.uploads:
            store.abort_pending(upload)
    return result
