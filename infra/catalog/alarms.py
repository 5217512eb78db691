"""Every alarm the program declares, in one tuple (the node's, then the jobs'), and the
severity of the alarms every function gets."""

from __future__ import annotations

from infra.catalog.alarm import Alarm, Severity
from infra.catalog.job_alarms import JOB_ALARMS
from infra.catalog.node_alarms import NODE_ALARMS

ALARMS: tuple[Alarm, ...] = (*NODE_ALARMS, *JOB_ALARMS)

# Alarms every function gets (the Lambda service's own metrics): errors, and throttles where
# a concurrency limit can refuse a run.
FUNCTION_ERRORS_SEVERITY = Severity.HIGH


def seeded_alarms() -> tuple[Alarm, ...]:
    return tuple(a for a in ALARMS if a.seed)
