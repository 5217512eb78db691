"""What an alarm is made of: the record, the fan-out's severities, the metric namespaces, the
dimension values filled at deploy, and the time units the thresholds use."""

from __future__ import annotations

import enum
from dataclasses import dataclass

NAMESPACE = "EdgeOps"  # functions/common/observability.py
HOST_NAMESPACE = "EdgeNode/Host"  # the CloudWatch agent on the edge host (memory, disk)


class Severity(enum.StrEnum):
    """The fan-out's four severities (functions/fanout/routing.py); one SNS topic each."""

    CRITICAL = "critical"  # S1/P0: pages (PagerDuty), Slack, Telegram
    HIGH = "high"  # S2/P1, Prometheus "warning": Slack, Telegram
    MEDIUM = "medium"  # S3/P2: Slack
    LOW = "low"  # S4/P3, "info", reports: Slack, e-mail


INSTANCE = "${instance}"  # dimension value: the edge host's instance id, filled at deploy
STACK = "${stack}"  # dimension value: the stack's name prefix
NODE = "${node}"  # the probe's node name (stack config nodeName, EDGE_OPS_NODE_NAME)
# An alarm with this dimension value is made once per RPC endpoint (stack config rpcEndpoints,
# by name; the probe's Endpoint dimension), named "<alarm>-<endpoint>".
ENDPOINT = "${endpoint}"

_COMPARISONS = {
    ">": "GreaterThanThreshold",
    ">=": "GreaterThanOrEqualToThreshold",
    "<": "LessThanThreshold",
    "<=": "LessThanOrEqualToThreshold",
}


@dataclass(frozen=True, slots=True)
class Alarm:
    """One CloudWatch alarm: its name (after the stack prefix) is the one the fan-out knows."""

    name: str
    summary: str
    namespace: str
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    statistic: str
    period_s: int
    evaluation_periods: int
    op: str  # ">", ">=", "<", "<="
    threshold: float
    severity: Severity
    missing: str = "notBreaching"  # breaching where silence means the thing stopped
    runbook: str | None = None  # a key of RUNBOOKS (runbooks.py)
    seed: str = ""  # the seed's rule this alarm implements, or "" for ours
    datapoints: int | None = None  # M of N; default all N
    # Set where no function publishes the metric yet: who must (tests/infra fails once it is
    # published and this is still set, and lists every such alarm by name).
    awaiting: str = ""

    @property
    def comparison(self) -> str:
        return _COMPARISONS[self.op]


def ops_dimensions(service: str, *more: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    """A function's metric: ``service`` (and ``environment``, added by the alarms component)
    plus the dimensions the function puts on that metric; CloudWatch matches all or nothing."""
    return (("service", service), *more)


MINUTE, HOUR, DAY = 60, 3600, 86_400
