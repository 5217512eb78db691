"""The report functions' settings, schedules and metrics: imported by the handler, the CLI and
the Pulumi program's drift test (tests/infra), with no side effect (the handler's import sets
up logging and metrics).

Schedules (EventBridge, UTC): each run reports the last complete period before its event time
(``functions.report.build.last_complete_period``): ``daily`` at 00:15 the day before;
``weekly`` on Fridays at 06:00 (seeds 001/002: the weekly performance report every Friday),
which reports the last complete ISO week, Monday to Sunday, ended the Sunday before; ``monthly``
on the 1st at 00:45 the month before.
"""

from __future__ import annotations

from pydantic import Field

from functions.common.settings import OpsSettings
from shared.reports.records import MODES


class ReportSettings(OpsSettings):
    report_to: str = Field(min_length=6)  # s3://bucket/prefix
    report_chain_id: int | None = None
    report_capital_token: str | None = None
    report_quote: str | None = None
    report_starting_capital: str | None = None


SCHEDULES = {
    "daily": "cron(15 0 * * ? *)",
    "weekly": "cron(0 6 ? * FRI *)",
    "monthly": "cron(45 0 1 * ? *)",
}

REPORT_FAILED = "report_failed"  # Count: 1 failed, 0 written


def attempts(mode: str) -> str:
    return f"report_attempts_{mode}"  # Count of the period's attempts in that mode


def success_rate(mode: str) -> str:
    return f"report_success_rate_{mode}"  # Percent of attempts that succeeded


# metric -> its dimensions besides service and environment (none)
DIMENSIONS: dict[str, tuple[str, ...]] = {
    REPORT_FAILED: (),
    **{attempts(m): () for m in MODES},
    **{success_rate(m): () for m in MODES},
}
