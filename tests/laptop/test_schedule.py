"""The scheduler's reading of the catalogue's EventBridge expressions, and compressed time."""

from __future__ import annotations

import datetime as dt

import pytest

from infra.catalog import FUNCTIONS
from laptop.schedule import BadSchedule, CompressedClock, next_fire

UTC = dt.UTC


def at(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0 2 * * ? *)", at(2026, 12, 2, 1, 59), at(2026, 12, 2, 2, 0)),  # backup
        ("cron(0 2 * * ? *)", at(2026, 12, 2, 2, 0), at(2026, 12, 3, 2, 0)),  # strictly after
        ("cron(0 4 ? * MON *)", at(2026, 12, 2), at(2026, 12, 7, 4, 0)),  # a Wednesday
        ("cron(0 5 15 * ? *)", at(2026, 12, 2), at(2026, 12, 15, 5, 0)),  # drill on the 15th
        ("cron(0 6 ? * FRI *)", at(2026, 12, 4, 6, 0), at(2026, 12, 11, 6, 0)),
        ("cron(45 0 1 * ? *)", at(2026, 12, 2), at(2027, 1, 1, 0, 45)),
        ("cron(0 23 * * ? *)", at(2026, 12, 2, 23, 0, 30), at(2026, 12, 3, 23, 0)),
        ("rate(1 minute)", at(2026, 12, 2, 3, 0, 10), at(2026, 12, 2, 3, 1)),
        ("rate(5 minutes)", at(2026, 12, 2, 3, 0), at(2026, 12, 2, 3, 5)),
        ("rate(1 day)", at(2026, 12, 2, 3, 0), at(2026, 12, 3)),
    ],
)
def test_next_fire(expression: str, after: dt.datetime, expected: dt.datetime) -> None:
    assert next_fire(expression, after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 2 * * ?)",
        "cron(0 2 * * ? 2027)",
        "cron(0 25 * * ? *)",
        "every day",
        "rate(0 days)",
        "rate(5 minutes)\n",  # a trailing newline is no schedule
    ],
)
def test_bad_schedules_are_refused_by_name(expression: str) -> None:
    with pytest.raises(BadSchedule, match=r"rate|cron|six fields|year|positive|25"):
        next_fire(expression, at(2026, 12, 2))


def test_every_catalogue_schedule_is_readable() -> None:
    scheduled = [(f.name, s) for f in FUNCTIONS for s in f.schedules]
    assert scheduled  # the catalogue has schedules to read
    for _name, expression in scheduled:
        assert next_fire(expression, at(2026, 12, 2)) > at(2026, 12, 2)


def test_compressed_clock() -> None:
    clock = CompressedClock(start_real=100.0, start_sim=at(2026, 12, 2), speed=720.0)
    assert clock.at(100.0) == at(2026, 12, 2)
    assert clock.at(220.0) == at(2026, 12, 3)  # two real minutes: one simulated day
    assert clock.real_for(at(2026, 12, 3)) == pytest.approx(220.0)
