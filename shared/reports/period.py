"""Report periods: UTC days, ISO weeks (Monday to Sunday) and calendar months.

A period is half-open, ``[start, end)``, in UTC; a trade belongs to the period its creation
time falls in. The default period is the last complete one before "now", so a report that runs
just after midnight covers the day (week, month) that has just ended.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

Kind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")


class BadPeriod(ValueError):
    """The period asked for does not exist; the caller must correct its input."""


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return self.start.strftime("%Y-%m-%d")
        if self.kind == "weekly":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")

    @property
    def bucket_s(self) -> int:
        """The width of the chart buckets: hours for a day, days otherwise."""
        return 3600 if self.kind == "daily" else 86_400

    def contains(self, t: float) -> bool:
        return self.start.timestamp() <= t < self.end.timestamp()


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def period_containing(kind: Kind, day: date) -> Period:
    if kind == "daily":
        start = _midnight(day)
        return Period(kind, start, start + timedelta(days=1))
    if kind == "weekly":
        start = _midnight(day - timedelta(days=day.weekday()))
        return Period(kind, start, start + timedelta(days=7))
    if kind == "monthly":
        start = _midnight(day.replace(day=1))
        nxt = (start + timedelta(days=32)).replace(day=1)
        return Period(kind, start, nxt)
    raise BadPeriod(f"unknown report period {kind!r}: choose one of {', '.join(KINDS)}")


def last_complete(kind: Kind, now: datetime) -> Period:
    """The latest period of this kind that ended at or before ``now``."""
    current = period_containing(kind, now.astimezone(UTC).date())
    return period_containing(kind, (current.start - timedelta(days=1)).date())


def parse_period(kind: str, day: str | None, now: datetime) -> Period:
    """The period from an operator's words: ``daily`` and an optional ``YYYY-MM-DD`` (any day
    inside the period wanted); without a date, the last complete period."""
    if kind not in KINDS:
        raise BadPeriod(f"unknown report period {kind!r}: choose one of {', '.join(KINDS)}")
    k: Kind = kind
    if day is None:
        return last_complete(k, now)
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise BadPeriod(f"date {day!r} is not a date: use YYYY-MM-DD") from None
    return period_containing(k, d)
