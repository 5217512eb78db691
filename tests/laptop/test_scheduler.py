"""The local scheduler calls each due function with an EventBridge scheduled event, tries a
failing one three times as Lambda does and parks it in the failures queue (the view shows it),
goes on after a failure, never calls a function that is not built, and coalesces fires."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from laptop import scheduler
from laptop.aws import create_resources
from laptop.failures import ASYNC_TRIES, FailureQueue
from laptop.schedule import CompressedClock
from laptop.scheduler import Job, Scheduler, catalog_jobs
from laptop.view import runs_text
from tests.laptop.support import parked_records
from tests.support.waiting import eventually

START = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)
CLOCK = CompressedClock(start_real=0.0, start_sim=START, speed=720.0)


class Sink:
    """A failures queue in memory, refusing its first ``refuse`` records as SQS failing."""

    def __init__(self, refuse: int = 0) -> None:
        self.records: list[dict[str, Any]] = []
        self.refuse = refuse

    def send(self, record: dict[str, Any]) -> None:
        if self.refuse > 0:
            self.refuse -= 1
            raise ConnectionError("moto is busy")
        self.records.append(record)


def scheduler_with(jobs: list[Job], failures: Sink | FailureQueue | None = None) -> Scheduler:
    return Scheduler(jobs, CLOCK, failures=failures if failures is not None else Sink())


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
    assert names.count("report") == ASYNC_TRIES == 3  # tried again twice, as Lambda does
    assert names.count("backup") == 2  # three days of backups missed would still be one run
    failed = [r for r in s.runs if not r.ok]
    assert [r.job for r in failed] == ["report-daily"]
    assert "reports bucket unreachable" in failed[0].detail and failed[0].attempts == 3
    assert "secret-age" not in {r.job for r in s.runs}  # never called: not built


def test_catalog_jobs_are_the_scheduled_functions() -> None:
    jobs = {j.name: j for j in catalog_jobs()}
    assert {"backup", "prune", "probe", "report-daily"} <= set(jobs)
    assert "fanout" not in jobs  # invoked by alerts, never scheduled
    assert jobs["prune"].handler is not None and jobs["prune"].missing is None


def test_a_minimum_real_gap_spaces_out_frequent_schedules() -> None:
    calls: list[str] = []
    job = Job("probe", ("rate(1 minute)",), "x.probe", handler=lambda e, c: calls.append(e["time"]))
    s = Scheduler([job], CLOCK, failures=Sink(), min_gap_s=5.0)
    s.run_due(START + dt.timedelta(minutes=1))
    assert calls == ["2026-12-02T01:01:00Z"]
    assert job.next_at == START + dt.timedelta(minutes=1, hours=1)  # 5 real s = 1 sim hour
    s.run_due(START + dt.timedelta(minutes=30))
    assert len(calls) == 1


def test_a_run_failing_its_three_tries_is_parked_in_the_failures_queue(
    moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    res = create_resources(moto_url, "http://127.0.0.1:9")
    calls: list[tuple[dict[str, Any], Any]] = []

    def report(event: dict[str, Any], ctx: Any) -> None:
        calls.append((event, ctx))
        raise RuntimeError("reports bucket unreachable")

    job = Job("report-daily", ("cron(15 0 * * ? *)",), "x.daily", handler=report)
    s = scheduler_with([job], FailureQueue(moto_url, res.failures_url))
    waits: list[float] = []
    real_wait = s._stop.wait

    def wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0.0)
        return real_wait(timeout)

    monkeypatch.setattr(s._stop, "wait", wait)
    s.run_due(START + dt.timedelta(hours=1))  # 02:00: the report of 00:15 tomorrow not due
    assert not calls
    s.run_due(START + dt.timedelta(days=1))

    # three tries with the one event, one invocation (a request id its retries share), after
    # Lambda's waits of one and two minutes, compressed
    assert len(calls) == 3
    assert [e for e, _ in calls] == [calls[0][0]] * 3
    assert len({c.aws_request_id for _, c in calls}) == 1
    assert waits == [60 / 720, 120 / 720]
    (run,) = s.runs
    assert (run.ok, run.attempts) == (False, 3)
    (record,) = parked_records(moto_url, res.failures_url, 1)
    context = record["requestContext"]
    assert context["condition"] == "RetriesExhausted"
    assert context["approximateInvokeCount"] == 3
    assert context["requestId"] == calls[0][1].aws_request_id
    assert context["functionArn"].endswith(":function:edge-laptop-report-daily:$LATEST")
    assert record["requestPayload"] == calls[0][0]
    assert record["requestPayload"]["time"] == "2026-12-03T00:15:00Z"
    assert "RuntimeError: reports bucket unreachable" in record["responsePayload"]["errorMessage"]
    # listed, and the view says so
    (parked,) = s.parked
    assert (parked.source, parked.summary, parked.attempts) == (
        "schedule report-daily",
        "run of 12-03 00:15",
        3,
    )
    line, parked_line = runs_text(s)
    assert "report-daily 12-03 00:15 FAILED after 3 tries: RuntimeError" in line
    assert parked_line.startswith(
        "    PARKED schedule report-daily: run of 12-03 00:15 after 3 tries: RuntimeError"
    )


def test_a_run_failing_once_is_tried_again_and_not_parked() -> None:
    tries: list[str] = []

    def backup(event: dict[str, Any], ctx: Any) -> str:
        tries.append(event["id"])
        if len(tries) == 1:
            raise TimeoutError("database busy")
        return "backed up"

    sink = Sink()
    s = scheduler_with([Job("backup", ("cron(0 2 * * ? *)",), "x.backup", handler=backup)], sink)
    s.run_due(START + dt.timedelta(hours=2))
    assert len(tries) == 2 and tries[0] == tries[1]  # the same event again
    (run,) = s.runs
    assert (run.ok, run.attempts, run.detail) == (True, 2, "backed up")
    assert not sink.records and not s.parked and not s.unsent
    (line,) = runs_text(s)
    assert "backup 12-02 02:00 ok on try 2" in line


def test_a_failed_run_the_queue_does_not_take_is_parked_later_once() -> None:
    def prune(event: dict[str, Any], ctx: Any) -> None:
        raise RuntimeError("archive bucket unreachable")

    sink = Sink(refuse=1)
    s = scheduler_with([Job("prune", ("cron(0 23 * * ? *)",), "x.prune", handler=prune)], sink)
    s.run_due(START + dt.timedelta(hours=23))
    assert not sink.records and not s.parked
    assert len(s.unsent) == 1 and s.park_errors == 1
    (line,) = runs_text(s)
    assert "1 failed runs not yet parked (SQS failing)" in line

    s.send_parked()  # as the loop does, PARK_RETRY_S later
    (record,) = sink.records
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["time"] == "2026-12-02T23:00:00Z"
    assert [p.source for p in s.parked] == ["schedule prune"] and not s.unsent
    s.send_parked()
    assert len(sink.records) == 1  # sent once


def test_the_running_scheduler_sends_what_was_not_parked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scheduler, "PARK_RETRY_S", 0.5)
    calls: list[str] = []

    def prune(event: dict[str, Any], ctx: Any) -> None:
        calls.append(event["id"])
        raise RuntimeError("archive bucket unreachable")

    sink = Sink(refuse=2)
    # the prune due at once: a minute before 23:00, a minute being 1/12 s here
    clock = CompressedClock(time.monotonic(), START.replace(hour=22, minute=59), speed=720.0)
    job = Job("prune", ("cron(0 23 * * ? *)",), "x.prune", handler=prune)
    s = Scheduler([job], clock, failures=sink, min_gap_s=600.0).start()
    try:
        eventually(lambda: sink.records, 30, "the failed run parked, SQS failing twice first")
    finally:
        s.stop()
    assert len(calls) == 3 and s.park_errors == 2
    (record,) = sink.records
    assert record["requestPayload"]["time"] == "2026-12-02T23:00:00Z"
    assert [p.source for p in s.parked] == ["schedule prune"] and not s.unsent


def test_stopping_sends_what_was_not_parked_once_more() -> None:
    def prune(event: dict[str, Any], ctx: Any) -> None:
        raise RuntimeError("archive bucket unreachable")

    sink = Sink(refuse=1)
    s = scheduler_with([Job("prune", ("cron(0 23 * * ? *)",), "x.prune", handler=prune)], sink)
    s.run_due(START + dt.timedelta(hours=23))
    assert len(s.unsent) == 1 and not sink.records
    s.stop()
    assert len(sink.records) == 1 and len(s.parked) == 1 and not s.unsent


def test_a_stop_during_the_retry_wait_ends_the_run_without_more_tries() -> None:
    tries: list[str] = []
    sink = Sink()

    def backup(event: dict[str, Any], ctx: Any) -> str:
        tries.append(event["id"])
        s.stop()  # the stack is told to stop while this try fails (not started: no join)
        raise TimeoutError("database busy")

    s = scheduler_with([Job("backup", ("cron(0 2 * * ? *)",), "x.backup", handler=backup)], sink)
    s.run_due(START + dt.timedelta(hours=2))
    assert len(tries) == 1  # not tried again while stopping
    (run,) = s.runs
    assert (run.ok, run.attempts) == (False, 1)
    assert "stopped before a retry" in run.detail
    assert [r["requestContext"]["approximateInvokeCount"] for r in sink.records] == [1]


def test_nothing_more_starts_once_the_stack_is_stopping() -> None:
    ran: list[str] = []

    def first(event: dict[str, Any], ctx: Any) -> str:
        ran.append("first")
        s.stop()
        return "done"

    def second(event: dict[str, Any], ctx: Any) -> str:
        ran.append("second")
        return "done"

    daily = ("cron(0 2 * * ? *)",)
    s = scheduler_with(
        [
            Job("first", daily, "x.first", handler=first),
            Job("second", daily, "x.second", handler=second),
        ]
    )
    s.run_due(START + dt.timedelta(hours=2))
    assert ran == ["first"]
