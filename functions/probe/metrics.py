"""The probe's CloudWatch metrics (EMF, namespace ``EdgeOps``, dimension ``service=probe``):
one list, for the core, the README's Operations section and the alarms of the Pulumi issue.

Every check publishes ``ProbeCheckOk`` (1 passed, 0 failed) with the dimensions ``Check`` and
the node or endpoint it looked at, every run: an alarm on it that treats missing data as
breaching also fires when the probe itself stops running.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["Count", "Milliseconds", "Seconds"]

# Dimensions (besides service and environment, which every metric of the function carries).
NODE = "Node"  # the node's name (EDGE_OPS_NODE_NAME)
ENDPOINT = "Endpoint"  # an RPC endpoint's name, never its URL (provider URLs hold keys)
CHECK = "Check"  # which check a ProbeCheckOk is for (the CHECKS below)

# The checks, as they appear in the Check dimension and in the report.
HEALTHZ = "healthz"  # GET /healthz answered 200 {"status":"ok"} within the slow threshold
HEALTH = "health"  # GET /health (bearer token) answered 200, status ok, within the threshold
RPC = "rpc"  # one endpoint answered eth_blockNumber, fast enough, head close to the node's
PRICE = "price"  # the last price update is no older than the stale threshold
BACKUP = "backup"  # the newest verified backup is no older than its threshold
CHECKS = (HEALTHZ, HEALTH, RPC, PRICE, BACKUP)


@dataclass(frozen=True, slots=True)
class MetricName:
    name: str
    unit: Unit
    dimensions: tuple[str, ...]
    help: str


CHECK_OK = MetricName(
    "ProbeCheckOk", "Count", (CHECK, NODE), "1 when the check passed, 0 when it failed"
)
# RPC checks carry the endpoint instead of the node.
RPC_CHECK_OK = MetricName(
    "ProbeCheckOk", "Count", (CHECK, ENDPOINT), "1 when the endpoint's check passed, else 0"
)
PROBE_DURATION = MetricName(
    "ProbeDurationMs", "Milliseconds", (NODE,), "Wall time of the whole probe (all checks)"
)
HEALTHZ_TIME = MetricName(
    "HealthzResponseTimeMs", "Milliseconds", (NODE,), "Time to answer GET /healthz"
)
HEALTH_TIME = MetricName(
    "HealthResponseTimeMs", "Milliseconds", (NODE,), "Time to answer GET /health (seed 000: >1000)"
)
BLOCK_AGE = MetricName(
    "NodeBlockAgeSeconds", "Seconds", (NODE,), "Age of the node's last processed block (chain time)"
)
PRICE_AGE = MetricName(
    "PriceUpdateAgeSeconds", "Seconds", (NODE,), "Age of the last price update (seed 000: >300)"
)
RPC_TIME = MetricName(
    "RpcResponseTimeMs", "Milliseconds", (ENDPOINT,), "Time to answer eth_blockNumber (000: >5000)"
)
RPC_LAG = MetricName(
    "RpcHeadLagBlocks",
    "Count",
    (ENDPOINT,),
    "Endpoint's head minus the node's last processed block (<0: the endpoint is behind)",
)
BACKUP_AGE = MetricName(
    "VerifiedBackupAgeSeconds", "Seconds", (NODE,), "Age of the newest verified backup"
)

# Trading safety, from /health's trading section (absent: the node does not trade, both 0).
PAPER_VIOLATION = MetricName(
    "PaperTradingViolation",
    "Count",
    (NODE,),
    "1 when the node trades live (mode, or live trades counted) while its config requires paper",
)
LOSS_OVER_LIMIT = MetricName(
    "DailyLossOverLimit", "Count", (NODE,), "1 when the day's realised loss reached its limit"
)

ALL = (
    CHECK_OK,
    PROBE_DURATION,
    HEALTHZ_TIME,
    HEALTH_TIME,
    BLOCK_AGE,
    PRICE_AGE,
    RPC_TIME,
    RPC_LAG,
    BACKUP_AGE,
    PAPER_VIOLATION,
    LOSS_OVER_LIMIT,
)
