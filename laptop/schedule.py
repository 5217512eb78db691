"""EventBridge schedule expressions (``rate(...)``, ``cron(...)``, as infra/catalog/ writes
them) and compressed time, for the laptop's scheduler. Pure: no clock read, no I/O.

EventBridge's cron has six fields (minutes hours day-of-month month day-of-week year) and
``?`` for "whichever"; the five-field cron that cronsim reads is the same without the year and
with ``*`` for ``?``. The catalogue's day-of-week fields use names (MON, FRI), which mean the
same in both (EventBridge's numbers 1-7 would not).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from cronsim import CronSim, CronSimError

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}


class BadSchedule(ValueError):
    """A schedule expression this scheduler (and EventBridge) does not read."""


def next_fire(expression: str, after: dt.datetime) -> dt.datetime:
    """The first time strictly after ``after`` (UTC) at which the schedule fires."""
    if m := _RATE.fullmatch(expression):
        every = int(m.group(1)) * _UNIT_S[m.group(2).rstrip("s")]
        if every <= 0:
            raise BadSchedule(f"{expression}: the rate must be positive")
        # EventBridge counts rates from the rule's creation; the laptop counts from the epoch.
        ts = int(after.timestamp())
        return dt.datetime.fromtimestamp((ts // every + 1) * every, dt.UTC)
    if m := _CRON.fullmatch(expression):
        fields = m.group(1).split()
        if len(fields) != 6:
            raise BadSchedule(f"{expression}: EventBridge cron has six fields")
        if fields[5] not in ("*", "?"):
            raise BadSchedule(f"{expression}: a year other than * is not supported here")
        five = " ".join("*" if f == "?" else f for f in fields[:5])
        try:
            return next(CronSim(five, after.replace(second=0, microsecond=0)))
        except CronSimError as err:
            raise BadSchedule(f"{expression}: {err}") from None
    raise BadSchedule(f"{expression!r} is neither rate(...) nor cron(...)")


@dataclass(frozen=True, slots=True)
class CompressedClock:
    """Simulated time that runs ``speed`` times faster than the real clock from ``start``."""

    start_real: float  # a time.monotonic() reading
    start_sim: dt.datetime
    speed: float

    def at(self, real: float) -> dt.datetime:
        return self.start_sim + dt.timedelta(seconds=(real - self.start_real) * self.speed)

    def real_for(self, sim: dt.datetime) -> float:
        return self.start_real + (sim - self.start_sim).total_seconds() / self.speed
