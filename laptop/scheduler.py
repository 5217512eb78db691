"""The local scheduler: every scheduled function of infra/catalog/, called in-process with
an EventBridge-shaped scheduled event, on its schedule in compressed time.

Each function runs alone (as ``concurrency=1`` makes them in AWS); fires missed while a run
was going are coalesced into one. A function whose package is not built yet (a branch still
in progress) is listed as such and never called. A failed run does not stop the others.

As deployed (an EventBridge rule invoking the function asynchronously, infra/functions.py), a
run that fails is tried again twice with the same event, after Lambda's waits (one minute, then
two: ``RETRY_WAITS_S``, in compressed time), and a run failing all three tries is parked in
the stack's failures queue, every function's on-failure destination (laptop/failures.py), as
Lambda's on-failure record (``condition: RetriesExhausted``, the scheduled event, the error),
and listed in ``parked`` (the view shows it). A record the queue did not take (SQS failing) is
kept in ``unsent`` and sent again every ``PARK_RETRY_S``, in order, and once more at ``stop()``.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from laptop.failures import ASYNC_TRIES, Parked, failure_record
from laptop.receivers import LambdaContext
from laptop.schedule import CompressedClock, next_fire

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
RETRY_WAITS_S = (60.0, 120.0)  # simulated seconds Lambda waits before its two retries
PARK_RETRY_S = 5.0  # real seconds between two tries at sending what was not parked


class FailureSink(Protocol):
    """Where a run given up on goes (laptop/failures.py FailureQueue, as deployed)."""

    def send(self, record: dict[str, Any]) -> None: ...


@dataclass
class Job:
    name: str
    schedules: tuple[str, ...]
    handler_path: str  # module.attribute
    handler: Handler | None = None
    missing: str | None = None  # why it cannot run here
    next_at: dt.datetime | None = None

    def load(self) -> None:
        module, _, attr = self.handler_path.rpartition(".")
        try:
            self.handler = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            self.missing = f"not built yet ({type(err).__name__}: {err})"


@dataclass(frozen=True, slots=True)
class Run:
    job: str
    sim_time: dt.datetime
    ok: bool
    detail: str  # what the function returned, or its last error
    attempts: int = 1  # tries made: up to ASYNC_TRIES
    at: float = field(default_factory=time.time)


def scheduled_event(name: str, at: dt.datetime) -> dict[str, Any]:
    """What EventBridge sends a scheduled rule's target."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:000000000000:rule/edge-laptop-{name}"],
        "detail": {},
    }


def catalog_jobs(only: Sequence[str] | None = None) -> list[Job]:
    from infra.catalog import FUNCTIONS

    jobs = [
        Job(f.name, f.schedules, f.handler)
        for f in FUNCTIONS
        if f.schedules and (only is None or f.name in only)
    ]
    for job in jobs:
        job.load()
    return jobs


class Scheduler:
    def __init__(
        self,
        jobs: list[Job],
        clock: CompressedClock,
        *,
        failures: FailureSink,
        min_gap_s: float = 0.0,
    ) -> None:
        self.jobs = jobs
        self.clock = clock
        self.failures = failures
        # Real seconds between two runs of one function at least: compressed, the probe's
        # rate(1 minute) would otherwise run many times a second.
        self.min_gap = dt.timedelta(seconds=min_gap_s * clock.speed)
        self.runs: deque[Run] = deque(maxlen=200)
        self.parked: deque[Parked] = deque(maxlen=100)  # sent to the failures queue
        self.unsent: deque[tuple[Parked, dict[str, Any]]] = deque()  # not taken yet
        self.park_errors = 0
        self._send_again_at = 0.0  # time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        for job in jobs:
            job.next_at = min(next_fire(s, clock.start_sim) for s in job.schedules)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=60)
        if self.unsent and not self._thread.is_alive():
            self.send_parked()  # a last try: moto stops after the scheduler

    def now(self) -> dt.datetime:
        return self.clock.at(time.monotonic())

    def due(self, now: dt.datetime) -> list[Job]:
        return [j for j in self.jobs if j.handler and j.next_at is not None and j.next_at <= now]

    def run_due(self, now: dt.datetime) -> None:
        for job in self.due(now):
            if self._stop.is_set():  # the stack is stopping: start nothing more
                break
            assert job.handler is not None and job.next_at is not None
            fired = job.next_at
            event = scheduled_event(job.name, fired)
            request_id = str(uuid.uuid4())  # the invocation's: its retries share it
            run = self._invoke(job, fired, event, request_id)
            self.runs.append(run)
            if not run.ok:
                self._park(job, run, event, request_id)
            # fires missed before ``now`` collapse into this one (a run that outlasts its
            # period catches up once, on the next round)
            job.next_at = min(next_fire(s, max(fired, now)) for s in job.schedules)
            job.next_at = max(job.next_at, now + self.min_gap)

    def _invoke(self, job: Job, fired: dt.datetime, event: dict[str, Any], request_id: str) -> Run:
        """The function called with ``event`` as Lambda invokes it asynchronously: up to
        ``ASYNC_TRIES`` times, waiting between tries (compressed)."""
        assert job.handler is not None
        for attempt in range(1, ASYNC_TRIES + 1):
            ctx = LambdaContext(f"edge-laptop-{job.name}", aws_request_id=request_id)
            try:
                result = job.handler(event, ctx)
            except Exception as err:
                error = f"{type(err).__name__}: {err}"[:300]
                log.warning("scheduled %s at %s failed (try %d): %s", job.name, fired, attempt, err)
                if attempt < ASYNC_TRIES and self._stop.wait(
                    RETRY_WAITS_S[attempt - 1] / self.clock.speed
                ):  # the stack is stopping: no more tries (parked as it stands)
                    return Run(job.name, fired, False, f"{error} (stopped before a retry)", attempt)
                continue
            return Run(job.name, fired, True, str(result)[:300], attempt)
        return Run(job.name, fired, False, error, ASYNC_TRIES)

    def _park(self, job: Job, run: Run, event: dict[str, Any], request_id: str) -> None:
        record = failure_record(
            job.name, event, run.detail, run.attempts, "RetriesExhausted", request_id
        )
        what = f"run of {run.sim_time:%m-%d %H:%M}"
        self.unsent.append(
            (Parked(f"schedule {job.name}", time.time(), what, run.detail, run.attempts), record)
        )
        self.send_parked()

    def send_parked(self) -> None:
        """Send what was not parked yet, in order; what the queue does not take stays."""
        while self.unsent:
            parked, record = self.unsent[0]
            try:
                self.failures.send(record)
            except Exception as err:  # moto busy or stopping: again later
                self.park_errors += 1
                self._send_again_at = time.monotonic() + PARK_RETRY_S
                log.warning(
                    "%s not parked yet (again in %.0fs): %s", parked.source, PARK_RETRY_S, err
                )
                return
            self.unsent.popleft()
            log.error(
                "%s: parked %s after %d tries: %s",
                parked.source,
                parked.summary,
                parked.attempts,
                parked.error,
            )
            self.parked.append(parked)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due(self.now())
            if self.unsent and time.monotonic() >= self._send_again_at:
                self.send_parked()
            self._stop.wait(0.2)
