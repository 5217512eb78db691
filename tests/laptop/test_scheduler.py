"""The local scheduler calls each due function with an EventBridge scheduled event, records
failures without stopping, never calls a function that is not built, and coalesces fires."""

from __future__ import annotations

import datetime as dt
from typing import Any

from laptop.schedule import CompressedClock
from laptop.scheduler import Job, Scheduler, catalog_jobs

START = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)


def scheduler_with(jobs: list[Job]) -> Scheduler:
    return Scheduler(jobs, CompressedClock(start_real=0.0, start_sim=START, speed=720.0))


def test_due_jobs_get_eventbridge_events_and_failures_are_recorded() -> None:
    calls: list[tuple[str, dict[str, Any], Any]] = []

    def backup(event: dict[str, Any], ctx: Any) -> dict[str, Any]:
        calls.append(("backup", event, ctx))
        return {"ok": True}

    def report(event: dict[str, Any], ctx: Any) -> None:
        calls.append(("report", event, ctx))
        raise RuntimeError("reports bucket unreachable")

    jobs = [
        Job("backup", ("cron(0 2 * * ? *)",), "x.backup", handler=backup),
        Job("report-daily", ("cron(15 0 * * ? *)",), "x.daily", handler=report),
        Job("secret-age", ("cron(0 8 * * ? *)",), "x.age", missing="not built yet"),
    ]
    s = scheduler_with(jobs)
    s.run_due(START + dt.timedelta(hours=1, minutes=30))  # 02:30: only the backup is due
    assert [c[0] for c in calls] == ["backup"]
    event, ctx = calls[0][1], calls[0][2]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-12-02T02:00:00Z"
    assert ctx.function_name == "edge-laptop-backup" and ctx.get_remaining_time_in_millis() > 0
    assert jobs[0].next_at is not None and jobs[0].next_at > START + dt.timedelta(hours=1)

    s.run_due(START + dt.timedelta(days=1, hours=10))  # the report is due; the rest too
    names = [c[0] for c in calls]
    assert names.count("report") == 1
    assert names.count("backup") == 2  # three days of backups missed would still be one run
    failed = [r for r in s.runs if not r.ok]
    assert [r.job for r in failed] == ["report-daily"]
    assert "reports bucket unreachable" in failed[0].detail
    assert "secret-age" not in {r.job for r in s.runs}  # never called: not built


def test_catalog_jobs_are_the_scheduled_functions() -> None:
    jobs = {j.name: j for j in catalog_jobs()}
    assert {"backup", "prune", "probe", "report-daily"} <= set(jobs)
    assert "fanout" not in jobs  # invoked by alerts, never scheduled
    assert jobs["prune"].handler is not None and jobs["prune"].missing is None


def test_a_minimum_real_gap_spaces_out_frequent_schedules() -> None:
    calls: list[str] = []
    job = Job("probe", ("rate(1 minute)",), "x.probe", handler=lambda e, c: calls.append(e["time"]))
    s = Scheduler([job], CompressedClock(0.0, START, speed=720.0), min_gap_s=5.0)
    s.run_due(START + dt.timedelta(minutes=1))
    assert calls == ["2026-12-02T01:01:00Z"]
    assert job.next_at == START + dt.timedelta(minutes=1, hours=1)  # 5 real s = 1 sim hour
    s.run_due(START + dt.timedelta(minutes=30))
    assert len(calls) == 1
