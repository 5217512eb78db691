"""Retention: tiers decided from manifests, the last verified backups kept whatever happens,
and clean-up of what never became a backup, touching nothing else in the bucket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from functions.backup import catalog, layout, retention
from functions.backup.catalog import BackupEntry
from functions.backup.manifest import Manifest, ObjectEntry, Verification, dump_json
from functions.backup.objects import ObjectInfo, PendingUpload, S3Objects
from functions.backup.retention import RetentionPolicy
from tests.functions.backup.conftest import PREFIX

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)


def _manifest(at: datetime, backup_id: str | None = None) -> Manifest:
    return Manifest(
        id=backup_id or layout.new_backup_id(at),
        dialect="postgresql",
        server_version="15",
        revision="0002",
        source="postgresql://x/db",
        started_at=at,
        finished_at=at + timedelta(minutes=1),
        tables=[],
        objects=[ObjectEntry(name=layout.DATA, size=10, sha256="0" * 64, parts=1)],
        raw_bytes=0,
        stored_bytes=10,
    )


def _entry(at: datetime, state: str = "unverified") -> BackupEntry:
    m = _manifest(at)
    # Object dates deliberately say "today": decisions must come from the manifest.
    objs = {
        n: ObjectInfo(layout.key(PREFIX, m.id, n), 10, NOW) for n in (layout.DATA, layout.MANIFEST)
    }
    e = BackupEntry(m.id, objs, m)
    if state != "unverified":
        e.verification = Verification(state=state, checked_at=at)
    return e


def _daily(days: int, state: str = "unverified") -> list[BackupEntry]:
    return [_entry(NOW - timedelta(days=d, hours=1), state) for d in range(days)]


def test_tiers_keep_30_daily_then_weekly_to_90_then_monthly_to_365() -> None:
    entries = _daily(400)
    decisions = retention.decide(entries, NOW, RetentionPolicy(keep_verified=1))
    kept = {d.backup_id for d in decisions if d.keep}
    by_id = {e.id: e for e in entries}
    ages = sorted((NOW - by_id[k].started_at).days for k in kept)
    assert all(a <= 365 for a in ages)
    assert ages[:30] == list(range(30))  # every daily backup of the last 30 days
    between = [a for a in ages if 30 < a <= 90]
    assert 8 <= len(between) <= 10  # one a week
    older = [a for a in ages if a > 90]
    assert 8 <= len(older) <= 10  # one a month
    # past the daily window, each kept one is the first backup of its ISO week or month
    for k in kept:
        at = by_id[k].started_at
        if (NOW - at).days >= 30:
            week = [e for e in entries if e.started_at.isocalendar()[:2] == at.isocalendar()[:2]]
            month = [
                e for e in entries if (e.started_at.year, e.started_at.month) == (at.year, at.month)
            ]
            firsts = {
                min(week, key=lambda e: e.started_at).id,
                min(month, key=lambda e: e.started_at).id,
            }
            assert k in firsts
    assert len(decisions) == 400


def test_failing_backups_never_cost_the_last_verified_ones() -> None:
    # 60 days ago the backups started failing verification; the last good ones are 60+ days old.
    entries = _daily(60, "failed") + [
        _entry(NOW - timedelta(days=d), "verified") for d in range(61, 200)
    ]
    decisions = {d.backup_id: d for d in retention.decide(entries, NOW, RetentionPolicy())}
    verified = sorted((e for e in entries if e.state == "verified"), key=lambda e: e.started_at)
    for e in verified[-3:]:
        assert decisions[e.id].keep, decisions[e.id]
        assert any("verified" in r for r in decisions[e.id].reasons)
    # failed backups inside the daily window are kept as evidence, older failed ones go
    assert all(decisions[e.id].keep for e in entries if (NOW - e.started_at).days < 30)


def test_failed_backups_are_not_weekly_or_monthly_representatives() -> None:
    week_start = datetime(2026, 9, 7, 2, tzinfo=UTC)  # a Monday, 84 days before NOW
    failed, good = _entry(week_start, "failed"), _entry(week_start + timedelta(days=1))
    newer = _daily(3)
    decisions = {
        d.backup_id: d for d in retention.decide([failed, good, *newer], NOW, RetentionPolicy())
    }
    assert not decisions[failed.id].keep
    assert decisions[good.id].keep and any("weekly" in r for r in decisions[good.id].reasons)


def test_no_backups_no_decisions_and_one_old_good_backup_stays() -> None:
    assert retention.decide([], NOW, RetentionPolicy()) == []
    lone = _entry(NOW - timedelta(days=900))
    (d,) = retention.decide([lone], NOW, RetentionPolicy())
    assert d.keep and d.reasons == ("the newest backup not failed",)


def test_orphans_only_after_a_day_and_only_our_keys() -> None:
    at = NOW - timedelta(hours=30)
    dead = BackupEntry(layout.new_backup_id(at), {layout.DATA: ObjectInfo("k", 1, at)})
    running = BackupEntry(
        layout.new_backup_id(NOW), {layout.DATA: ObjectInfo("k2", 1, NOW - timedelta(hours=2))}
    )
    uploads = [
        PendingUpload(layout.key(PREFIX, dead.id, layout.DATA), "u1", at),
        # S3 says it began long ago (moto always does), but its id says it began just now
        PendingUpload(layout.key(PREFIX, layout.new_backup_id(NOW), layout.DATA), "u4", at),
        PendingUpload(
            layout.key(PREFIX, running.id, layout.DATA), "u2", NOW - timedelta(minutes=5)
        ),
        PendingUpload("someone-else/big.bin", "u3", at - timedelta(days=9)),
    ]
    plan = retention.orphans([dead, running], uploads, PREFIX, NOW, RetentionPolicy())
    assert plan.keys == [layout.key(PREFIX, dead.id, layout.DATA)]
    assert [u.upload_id for u in plan.uploads] == ["u1"]


def test_apply_deletes_whole_backups_and_leaves_other_keys(
    bucket: S3Objects, s3_client: object
) -> None:
    old = _manifest(NOW - timedelta(days=40, hours=3))  # a Wednesday: not first of week/month
    old_id = old.id
    keep = _manifest(NOW - timedelta(days=1))
    for m in (old, keep):
        bucket.put(layout.key(PREFIX, m.id, layout.DATA), b"data")
        bucket.put(layout.key(PREFIX, m.id, layout.MANIFEST), dump_json(m))
    first_of_month = _manifest(datetime(2026, 10, 1, 2, tzinfo=UTC))
    bucket.put(layout.key(PREFIX, first_of_month.id, layout.MANIFEST), dump_json(first_of_month))
    foreign = ["prod/db/notes.txt", "prod/db-old/x", "other/20250101T000000Z-abcdef/data.zst"]
    for k in foreign:
        bucket.put(k, b"x")
    # a week-first backup 40 days back exists too, so "old" is not its week's first
    week_first = _manifest(old.started_at - timedelta(days=1))
    bucket.put(layout.key(PREFIX, week_first.id, layout.MANIFEST), dump_json(week_first))

    entries = catalog.scan(bucket, PREFIX)
    result = retention.apply(bucket, PREFIX, entries, NOW, RetentionPolicy())
    assert result.deleted == [old_id]
    left = {o.key for o in bucket.listing("")}
    assert not any(old_id in k for k in left)
    assert set(foreign) <= left
    assert layout.key(PREFIX, keep.id, layout.MANIFEST) in left
