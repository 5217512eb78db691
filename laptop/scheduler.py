"""The local scheduler: every scheduled function of infra/catalog/, called in-process with
an EventBridge-shaped scheduled event, on its schedule in compressed time.

Each function runs alone (as ``concurrency=1`` makes them in AWS); fires missed while a run
was going are coalesced into one. A function whose package is not built yet (a branch still
in progress) is listed as such and never called. A failed run is recorded with its error and
does not stop the others (Lambda's on-failure destination is where the deployed one goes).
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
from typing import Any

from laptop.receivers import LambdaContext
from laptop.schedule import CompressedClock, next_fire

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]


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
    detail: str
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
    def __init__(self, jobs: list[Job], clock: CompressedClock, min_gap_s: float = 0.0) -> None:
        self.jobs = jobs
        self.clock = clock
        # Real seconds between two runs of one function at least: compressed, the probe's
        # rate(1 minute) would otherwise run many times a second.
        self.min_gap = dt.timedelta(seconds=min_gap_s * clock.speed)
        self.runs: deque[Run] = deque(maxlen=200)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        for job in jobs:
            job.next_at = min(next_fire(s, clock.start_sim) for s in job.schedules)

    def start(self) -> Scheduler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)

    def now(self) -> dt.datetime:
        return self.clock.at(time.monotonic())

    def due(self, now: dt.datetime) -> list[Job]:
        return [j for j in self.jobs if j.handler and j.next_at is not None and j.next_at <= now]

    def run_due(self, now: dt.datetime) -> None:
        for job in self.due(now):
            assert job.handler is not None and job.next_at is not None
            fired = job.next_at
            self.runs.append(self._call(job, fired))
            # fires missed before ``now`` collapse into this one (a run that outlasts its
            # period catches up once, on the next round)
            job.next_at = min(next_fire(s, max(fired, now)) for s in job.schedules)
            job.next_at = max(job.next_at, now + self.min_gap)

    def _call(self, job: Job, fired: dt.datetime) -> Run:
        assert job.handler is not None
        ctx = LambdaContext(f"edge-laptop-{job.name}")
        try:
            result = job.handler(scheduled_event(job.name, fired), ctx)
        except Exception as err:
            log.warning("scheduled %s at %s failed: %s", job.name, fired, err)
            return Run(job.name, fired, False, f"{type(err).__name__}: {err}"[:300])
        return Run(job.name, fired, True, str(result)[:300])

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due(self.now())
            self._stop.wait(0.2)
