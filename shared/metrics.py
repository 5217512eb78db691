"""Metric names, one list for the edge node, the functions, the alarms and the dashboards.

Names follow the operations manuals the system was designed from where they exist there
(``health_check_status``, ``swap_events_processed_total``, ...). A test checks that the node's
Prometheus output carries every name listed here, so an alarm can never watch a metric that
does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]
# Who renders the metric: the node's own collector, or prometheus_client's process collector
# (the standard ``process_*`` names, which the seeds' HighMemoryUsage reads).
Exporter = Literal["node", "process"]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    buckets: tuple[float, ...] = ()  # histograms: upper bounds, ascending (+Inf is implied)
    exporter: Exporter = "node"


HEALTH_CHECK_STATUS = MetricSpec(
    "health_check_status", "gauge", "Overall health from progress: 1 healthy, 0 unhealthy"
)
UPTIME_SECONDS = MetricSpec("uptime_seconds", "gauge", "Seconds since the node started")
SYSTEM_MEMORY_USAGE_BYTES = MetricSpec(
    "system_memory_usage_bytes", "gauge", "Resident memory of the node process"
)
SYSTEM_CPU_USAGE_PERCENT = MetricSpec(
    "system_cpu_usage_percent", "gauge", "CPU used by the node process, percent of one core"
)
WEBSOCKET_CONNECTIONS_TOTAL = MetricSpec(
    "websocket_connections_total", "gauge", "Open websocket connections to RPC endpoints"
)
WEBSOCKET_RECONNECTS_TOTAL = MetricSpec(
    "websocket_reconnects_total",
    "counter",
    "Connections re-established after a drop, a dead stream or a failover",
)
SWAP_EVENTS_PROCESSED_TOTAL = MetricSpec(
    "swap_events_processed_total", "counter", "Swap events applied to pool state and candles"
)
PRICE_UPDATES_TOTAL = MetricSpec(
    "price_updates_total", "counter", "Pool price changes (Sync and V3 Swap events) applied"
)
MARKET_DATA_ERRORS_TOTAL = MetricSpec(
    "market_data_errors_total",
    "counter",
    "Malformed or unusable market data messages, counted and skipped",
    ("kind",),
)
RPC_REQUESTS_TOTAL = MetricSpec(
    "rpc_requests_total",
    "counter",
    "JSON-RPC requests by endpoint and outcome",
    ("endpoint", "outcome"),
)
RPC_MESSAGES_REFUSED_TOTAL = MetricSpec(
    "rpc_messages_refused_total",
    "counter",
    "RPC answers refused for exceeding the size limit (websocket message or HTTP body)",
    ("endpoint", "transport"),
)
RPC_ENDPOINT_HEAD_LAG_BLOCKS = MetricSpec(
    "rpc_endpoint_head_lag_blocks",
    "gauge",
    "Blocks an endpoint's head is behind the best head seen on any endpoint",
    ("endpoint",),
)
RPC_ENDPOINT_UP = MetricSpec(
    "rpc_endpoint_up", "gauge", "1 if the endpoint answered its last probe", ("endpoint",)
)
RPC_FAILOVERS_TOTAL = MetricSpec(
    "rpc_failovers_total", "counter", "Switches of the active endpoint to another one"
)
HEAD_LAG_BLOCKS = MetricSpec(
    "head_lag_blocks", "gauge", "Blocks the last processed block is behind the chain head"
)
LAST_PROCESSED_BLOCK = MetricSpec(
    "last_processed_block", "gauge", "Number of the last fully processed block"
)
LAST_BLOCK_AGE_SECONDS = MetricSpec(
    "last_block_age_seconds", "gauge", "Age (chain time) of the last fully processed block"
)
CHAIN_BLOCK_INTERVAL_SECONDS = MetricSpec(
    "chain_block_interval_seconds",
    "gauge",
    "The chain's block interval as observed: median timestamp gap per block over the last "
    "blocks processed (12 until two blocks are seen, never below 1)",
)
BACKFILLED_BLOCKS_TOTAL = MetricSpec(
    "backfilled_blocks_total", "counter", "Blocks processed by eth_getLogs backfill"
)
REORGS_TOTAL = MetricSpec("reorgs_total", "counter", "Chain reorganisations rolled back")
REORGED_BLOCKS_TOTAL = MetricSpec(
    "reorged_blocks_total", "counter", "Blocks rolled back because of reorganisations"
)
EVENT_QUEUE_SIZE = MetricSpec(
    "event_queue_size", "gauge", "Block commits waiting to be written to the store"
)
DB_CONNECTION_ERRORS_TOTAL = MetricSpec(
    "db_connection_errors_total", "counter", "Store writes that failed and were retried"
)
STORE_COMMITTED_BLOCK = MetricSpec(
    "store_committed_block", "gauge", "Last block whose data is committed in the store"
)
CANDLESTICK_AGGREGATION_LAG_SECONDS = MetricSpec(
    "candlestick_aggregation_lag_seconds",
    "gauge",
    "Wall-clock seconds between a block's timestamp and its swaps reaching the candles",
)

EMERGENCY_STOP_ACTIVE = MetricSpec(
    "emergency_stop_active", "gauge", "Emergency stop status (1 active, 0 inactive)"
)
TRADING_STATE = MetricSpec(
    "trading_state", "gauge", "Trading control state: 0 running, 1 paused, 2 stopped"
)
PAPER_TRADING_MODE = MetricSpec(
    "paper_trading_mode", "gauge", "1 if trades are simulated (paper mode), 0 if live"
)
TRADES_TOTAL = MetricSpec(
    "trades_total", "counter", "Trades by mode and outcome", ("mode", "status")
)
TRADE_FAILURES_TOTAL = MetricSpec(
    "trade_failures_total",
    "counter",
    "Transaction failures by class (reverted, underpriced, nonce_conflict, dropped, ...)",
    ("class",),
)
TRADING_ERRORS_TOTAL = MetricSpec(
    "trading_errors_total",
    "counter",
    "Unexpected exceptions on the trading path, by stage (strategy, risk, sign, journal, "
    "broadcast); each is logged with its traceback (rate-limited)",
    ("stage",),
)
PENDING_TRANSACTIONS = MetricSpec(
    "pending_transactions", "gauge", "Signed transactions (nonces) not yet settled on chain"
)
PENDING_TRANSACTION_AGE_BLOCKS = MetricSpec(
    "pending_transaction_age_blocks", "gauge", "Blocks since the oldest pending nonce was sent"
)
NONCE_GAP = MetricSpec(
    "nonce_gap",
    "gauge",
    "Holes found at the last check: nonces between the chain's count and our highest one that "
    "no transaction of ours holds (each is filled with a cancelling self-transfer)",
)
GAS_BALANCE = MetricSpec(
    "gas_balance", "gauge", "The bot account's native balance (BNB/ETH) for gas"
)
CAPITAL_BALANCE = MetricSpec(
    "capital_balance", "gauge", "The executor's capital token balance, in token units"
)
RISK_REFUSALS_TOTAL = MetricSpec(
    "risk_refusals_total", "counter", "Trades refused by a risk limit", ("limit",)
)
TRANSACTIONS_SENT_TOTAL = MetricSpec(
    "transactions_sent_total",
    "counter",
    "Transactions signed and sent, by kind (trade, speedup, cancel)",
    ("kind",),
)
TRADE_LATENCY_SECONDS = MetricSpec(
    "trade_latency_seconds",
    "histogram",
    "Seconds from the pool update that triggered a trade to each step of sending it: "
    "signed, journaled (durable), accepted (by the first endpoint)",
    ("stage",),
    buckets=(
        25e-6,
        50e-6,
        100e-6,
        250e-6,
        500e-6,
        1e-3,
        2.5e-3,
        5e-3,
        10e-3,
        25e-3,
        50e-3,
        100e-3,
        250e-3,
        1.0,
    ),
)

# --- the API, the RPC endpoints, the database, the process, the volume (issue 9 section 5) ----

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS_TOTAL = MetricSpec(
    "http_requests_total",
    "counter",
    "Requests the node's API answered, by route (its template) and HTTP status",
    ("route", "status"),
)
HTTP_REQUEST_DURATION_SECONDS = MetricSpec(
    "http_request_duration_seconds",
    "histogram",
    "Seconds the node's API took to answer, by route",
    ("route",),
    buckets=_LATENCY_BUCKETS,
)
API_UNAUTHORIZED_REQUESTS_TOTAL = MetricSpec(
    "api_unauthorized_requests_total",
    "counter",
    "API requests refused with 401 (missing or wrong bearer token)",
)
RPC_REQUEST_DURATION_SECONDS = MetricSpec(
    "rpc_request_duration_seconds",
    "histogram",
    "Seconds from sending a JSON-RPC request (or batch) to its answer or timeout, by endpoint",
    ("endpoint",),
    buckets=_LATENCY_BUCKETS,
)
DB_QUERY_DURATION_SECONDS = MetricSpec(
    "db_query_duration_seconds",
    "histogram",
    "Seconds a database transaction took, by operation (store_batch: the store writer's "
    "batch of blocks; journal_commit: one durable commit of the trade journal)",
    ("operation",),
    buckets=_LATENCY_BUCKETS,
)
STORE_SIZE_BYTES = MetricSpec(
    "store_size_bytes",
    "gauge",
    "Size of the store: the SQLite file with its WAL, or PostgreSQL's pg_database_size",
)
STORE_DATABASE_UP = MetricSpec(
    "store_database_up",
    "gauge",
    "0 while the store writer retries a database that does not answer (or gave up), else 1",
)
STORE_VOLUME_FREE_BYTES = MetricSpec(
    "store_volume_free_bytes",
    "gauge",
    "Free bytes on the volume holding the node's data (the SQLite file's, or the send log's)",
)
STORE_VOLUME_SIZE_BYTES = MetricSpec(
    "store_volume_size_bytes", "gauge", "Size in bytes of the volume holding the node's data"
)
NODE_ALERTS_TOTAL = MetricSpec(
    "node_alerts_total",
    "counter",
    "Critical events the node raised to the fan-out, by outcome (sent, failed, dropped: the "
    "queue was full)",
    ("outcome",),
)
PROCESS_RESIDENT_MEMORY_BYTES = MetricSpec(
    "process_resident_memory_bytes", "gauge", "Resident memory size in bytes", exporter="process"
)
PROCESS_CPU_SECONDS_TOTAL = MetricSpec(
    "process_cpu_seconds_total",
    "counter",
    "Total user and system CPU time spent in seconds",
    exporter="process",
)

# Label values known in advance, exported at 0 from the start: a rate over a series that does
# not exist yet is "no data", and its first increment would be invisible to rate().
API_STATUSES_AT_ZERO = ("200", "500")
RPC_OUTCOMES = ("ok", "error", "timeout", "unavailable")
MARKET_DATA_ERROR_KINDS = (
    "malformed_header",
    "malformed_log",
    "incomplete_logs",
    "rpc_message",
    "malformed_identifier",
)
# Trades by mode: which statuses count as a success, and which as a failed attempt (a refused
# trade was never attempted; a cancel or a reorged trade is neither).
TRADE_STATUSES: dict[str, tuple[str, ...]] = {
    "paper": ("simulated", "simulation_failed", "refused"),
    "live": ("mined", "reverted", "failed", "cancelled", "reorged", "refused"),
}
TRADE_SUCCESS_STATUSES = ("simulated", "mined")
TRADE_FAILED_STATUSES = ("simulation_failed", "reverted", "failed")
TRADE_FAILURE_CLASSES = ("reverted", "dropped", "nonce_conflict", "nonce_hole", "journal")
NODE_ALERT_OUTCOMES = ("sent", "failed", "dropped")

ALL: tuple[MetricSpec, ...] = (
    HEALTH_CHECK_STATUS,
    UPTIME_SECONDS,
    SYSTEM_MEMORY_USAGE_BYTES,
    SYSTEM_CPU_USAGE_PERCENT,
    WEBSOCKET_CONNECTIONS_TOTAL,
    WEBSOCKET_RECONNECTS_TOTAL,
    SWAP_EVENTS_PROCESSED_TOTAL,
    PRICE_UPDATES_TOTAL,
    MARKET_DATA_ERRORS_TOTAL,
    RPC_REQUESTS_TOTAL,
    RPC_MESSAGES_REFUSED_TOTAL,
    RPC_ENDPOINT_HEAD_LAG_BLOCKS,
    RPC_ENDPOINT_UP,
    RPC_FAILOVERS_TOTAL,
    HEAD_LAG_BLOCKS,
    LAST_PROCESSED_BLOCK,
    LAST_BLOCK_AGE_SECONDS,
    CHAIN_BLOCK_INTERVAL_SECONDS,
    BACKFILLED_BLOCKS_TOTAL,
    REORGS_TOTAL,
    REORGED_BLOCKS_TOTAL,
    EVENT_QUEUE_SIZE,
    DB_CONNECTION_ERRORS_TOTAL,
    STORE_COMMITTED_BLOCK,
    CANDLESTICK_AGGREGATION_LAG_SECONDS,
    EMERGENCY_STOP_ACTIVE,
    TRADING_STATE,
    PAPER_TRADING_MODE,
    TRADES_TOTAL,
    TRADE_FAILURES_TOTAL,
    TRADING_ERRORS_TOTAL,
    PENDING_TRANSACTIONS,
    PENDING_TRANSACTION_AGE_BLOCKS,
    NONCE_GAP,
    GAS_BALANCE,
    CAPITAL_BALANCE,
    RISK_REFUSALS_TOTAL,
    TRANSACTIONS_SENT_TOTAL,
    TRADE_LATENCY_SECONDS,
    HTTP_REQUESTS_TOTAL,
    HTTP_REQUEST_DURATION_SECONDS,
    API_UNAUTHORIZED_REQUESTS_TOTAL,
    RPC_REQUEST_DURATION_SECONDS,
    DB_QUERY_DURATION_SECONDS,
    STORE_SIZE_BYTES,
    STORE_DATABASE_UP,
    STORE_VOLUME_FREE_BYTES,
    STORE_VOLUME_SIZE_BYTES,
    NODE_ALERTS_TOTAL,
    PROCESS_RESIDENT_MEMORY_BYTES,
    PROCESS_CPU_SECONDS_TOTAL,
)

BY_NAME: dict[str, MetricSpec] = {spec.name: spec for spec in ALL}


def series_names(spec: MetricSpec) -> tuple[str, ...]:
    """The names a PromQL query may use for this metric (a histogram's three series)."""
    if spec.kind == "histogram":
        return (f"{spec.name}_bucket", f"{spec.name}_sum", f"{spec.name}_count")
    return (spec.name,)
