"""The Grafana dashboards the seeds list, as code (Grafana's foundation SDK, pinned).

``python -m infra.monitoring.dashboards`` writes one JSON file per dashboard in grafana/
(committed: a test fails if it drifts from this module), ready to import or provision. Every
query reads metrics shared/metrics.py defines (tested), over a Prometheus data source chosen
with the ``datasource`` variable.

Seeds: 001 "Recommended Grafana panels" (system overview, application health, trading,
database performance), 002 (service health: API latency and errors), 003 (paper-trading
safety, real-time data feeds), 000 (market data pipeline, RPC and network).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

OUT = Path(__file__).resolve().parent / "grafana"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
NODE = 'job="edge-node"'


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str = "short"
    kind: str = "timeseries"  # or "stat": the current value, big
    description: str = ""


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def _p95(histogram: str, by: str) -> str:
    return (
        f"histogram_quantile(0.95, sum by ({by}, le) "
        f"(rate({histogram}_bucket{{{NODE}}}[$__rate_interval])))"
    )


_SUCCESS = 'status=~"mined|simulated"'
_ATTEMPTS = 'status=~"mined|simulated|reverted|simulation_failed|failed"'

DASHBOARDS: dict[str, tuple[str, tuple[Panel, ...]]] = {
    "system-overview": (
        "Edge node: system overview",
        (
            Panel("Health", (q(f"health_check_status{{{NODE}}}"),), kind="stat"),
            Panel("Uptime", (q(f"uptime_seconds{{{NODE}}}"),), "s", "stat"),
            Panel(
                "Resident memory",
                (q(f"process_resident_memory_bytes{{{NODE}}}", "{{instance}}"),),
                "bytes",
                description="001 HighMemoryUsage: above 1 GiB for 10 minutes",
            ),
            Panel(
                "CPU",
                (
                    q(f"rate(process_cpu_seconds_total{{{NODE}}}[$__rate_interval]) * 100", "cpu"),
                    q(f"system_cpu_usage_percent{{{NODE}}}", "since last scrape"),
                ),
                "percent",
                description="000: above 90% for 5 minutes is critical",
            ),
            Panel(
                "Data volume used",
                (q(f"1 - store_volume_free_bytes{{{NODE}}} / store_volume_size_bytes{{{NODE}}}"),),
                "percentunit",
                description="000/001 DiskSpaceWarning: above 70%",
            ),
            Panel("Store size", (q(f"store_size_bytes{{{NODE}}}"),), "bytes"),
            Panel(
                "API requests by status",
                (
                    q(
                        f"sum by (status) (rate(http_requests_total{{{NODE}}}[$__rate_interval]))",
                        "{{status}}",
                    ),
                ),
                "reqps",
                description="001 HighErrorRate: 5xx above 0.05/s for 5 minutes",
            ),
            Panel(
                "API p95 latency by route",
                (q(_p95("http_request_duration_seconds", "route"), "{{route}}"),),
                "s",
                description="002: under 500 ms at p95",
            ),
            Panel(
                "Refused API requests (401) per hour",
                (q(f"increase(api_unauthorized_requests_total{{{NODE}}}[1h])"),),
            ),
        ),
    ),
    "market-data-pipeline": (
        "Edge node: market data pipeline",
        (
            Panel(
                "Swaps and price updates per second",
                (
                    q(f"rate(swap_events_processed_total{{{NODE}}}[$__rate_interval])", "swaps"),
                    q(f"rate(price_updates_total{{{NODE}}}[$__rate_interval])", "price updates"),
                ),
                "ops",
            ),
            Panel(
                "Market data errors per hour by kind",
                (
                    q(
                        f"sum by (kind) (increase(market_data_errors_total{{{NODE}}}[1h]))",
                        "{{kind}}",
                    ),
                ),
                description="000: above 100 an hour is critical",
            ),
            Panel(
                "Age of the last processed block",
                (q(f"last_block_age_seconds{{{NODE}}}"),),
                "s",
                description="000: prices older than 300 s are stale",
            ),
            Panel("Blocks behind the head", (q(f"head_lag_blocks{{{NODE}}}"),)),
            Panel(
                "Candle aggregation lag",
                (q(f"candlestick_aggregation_lag_seconds{{{NODE}}}"),),
                "s",
                description="000: above 60 s",
            ),
            Panel(
                "Commits waiting for the store",
                (q(f"event_queue_size{{{NODE}}}"),),
                description="000: above 1000",
            ),
            Panel(
                "Backfilled and reorged blocks per hour",
                (
                    q(f"increase(backfilled_blocks_total{{{NODE}}}[1h])", "backfilled"),
                    q(f"increase(reorged_blocks_total{{{NODE}}}[1h])", "rolled back"),
                    q(f"increase(reorgs_total{{{NODE}}}[1h])", "reorgs"),
                ),
            ),
        ),
    ),
    "rpc-network": (
        "Edge node: RPC and network",
        (
            Panel(
                "RPC requests by endpoint and outcome",
                (
                    q(
                        "sum by (endpoint, outcome) "
                        f"(rate(rpc_requests_total{{{NODE}}}[$__rate_interval]))",
                        "{{endpoint}} {{outcome}}",
                    ),
                ),
                "reqps",
            ),
            Panel(
                "RPC error ratio by endpoint",
                (
                    q(
                        "sum by (endpoint) (rate(rpc_requests_total"
                        f'{{{NODE}, outcome!="ok"}}[$__rate_interval])) / sum by (endpoint) '
                        f"(rate(rpc_requests_total{{{NODE}}}[$__rate_interval]))",
                        "{{endpoint}}",
                    ),
                ),
                "percentunit",
                description="000: above 5%",
            ),
            Panel(
                "RPC p95 latency by endpoint",
                (q(_p95("rpc_request_duration_seconds", "endpoint"), "{{endpoint}}"),),
                "s",
                description="000: rpc_response_time_p95 above 5000 ms",
            ),
            Panel(
                "Endpoints up",
                (q(f"rpc_endpoint_up{{{NODE}}}", "{{endpoint}}"),),
                kind="stat",
            ),
            Panel(
                "Endpoint head lag",
                (q(f"rpc_endpoint_head_lag_blocks{{{NODE}}}", "{{endpoint}}"),),
            ),
            Panel(
                "Websocket connections",
                (q(f"websocket_connections_total{{{NODE}}}"),),
                description="000: none for 2 minutes",
            ),
            Panel(
                "Reconnections and failovers per hour",
                (
                    q(f"increase(websocket_reconnects_total{{{NODE}}}[1h])", "reconnects"),
                    q(f"increase(rpc_failovers_total{{{NODE}}}[1h])", "failovers"),
                ),
                description="001 WebSocketReconnectStorm: above 10 an hour",
            ),
            Panel(
                "Oversized answers refused",
                (
                    q(
                        "sum by (endpoint, transport) "
                        f"(increase(rpc_messages_refused_total{{{NODE}}}[1h]))",
                        "{{endpoint}} {{transport}}",
                    ),
                ),
            ),
        ),
    ),
    "trading": (
        "Edge node: trading",
        (
            Panel(
                "Trade success rate (1 h)",
                (
                    q(
                        f"sum by (mode) (increase(trades_total{{{NODE}, {_SUCCESS}}}[1h])) / "
                        f"sum by (mode) (increase(trades_total{{{NODE}, {_ATTEMPTS}}}[1h]))",
                        "{{mode}}",
                    ),
                ),
                "percentunit",
                description="004: P3 below 60%, P2 below 40%, P1 below 20%",
            ),
            Panel(
                "Trades per hour by status",
                (
                    q(
                        f"sum by (mode, status) (increase(trades_total{{{NODE}}}[1h]))",
                        "{{mode}} {{status}}",
                    ),
                ),
                description="001: trade volume trend",
            ),
            Panel(
                "Transaction failures by class",
                (
                    q(
                        f"sum by (class) (increase(trade_failures_total{{{NODE}}}[1h]))",
                        "{{class}}",
                    ),
                ),
            ),
            Panel(
                "Risk refusals by limit",
                (
                    q(
                        f"sum by (limit) (increase(risk_refusals_total{{{NODE}}}[1h]))",
                        "{{limit}}",
                    ),
                ),
            ),
            Panel(
                "Trade latency p99 by stage",
                (
                    q(
                        "histogram_quantile(0.99, sum by (stage, le) (rate("
                        f"trade_latency_seconds_bucket{{{NODE}}}[$__rate_interval])))",
                        "{{stage}}",
                    ),
                ),
                "s",
                description="004: end-to-end execution under 150 ms",
            ),
            Panel(
                "Pending transactions and nonce gaps",
                (
                    q(f"pending_transactions{{{NODE}}}", "pending"),
                    q(f"pending_transaction_age_blocks{{{NODE}}}", "oldest (blocks)"),
                    q(f"nonce_gap{{{NODE}}}", "nonce holes"),
                ),
            ),
            Panel(
                "Gas and capital balances",
                (
                    q(f"gas_balance{{{NODE}}}", "gas"),
                    q(f"capital_balance{{{NODE}}}", "capital"),
                ),
                description="001: gas fee statistics",
            ),
            Panel(
                "Transactions sent by kind",
                (
                    q(
                        f"sum by (kind) (increase(transactions_sent_total{{{NODE}}}[1h]))",
                        "{{kind}}",
                    ),
                ),
            ),
            Panel(
                "Errors on the trading path by stage",
                (
                    q(
                        f"sum by (stage) (increase(trading_errors_total{{{NODE}}}[1h]))",
                        "{{stage}}",
                    ),
                ),
            ),
        ),
    ),
    "database": (
        "Edge node: database",
        (
            Panel(
                "Transaction p95 by operation",
                (q(_p95("db_query_duration_seconds", "operation"), "{{operation}}"),),
                "s",
                description="001 SlowDatabaseQueries: above 1 s for 10 minutes",
            ),
            Panel(
                "Transactions per second by operation",
                (
                    q(
                        "sum by (operation) "
                        f"(rate(db_query_duration_seconds_count{{{NODE}}}[$__rate_interval]))",
                        "{{operation}}",
                    ),
                ),
                "ops",
            ),
            Panel("Store size", (q(f"store_size_bytes{{{NODE}}}"),), "bytes"),
            Panel(
                "Database answering",
                (q(f"store_database_up{{{NODE}}}"),),
                kind="stat",
                description="003 DatabaseDown",
            ),
            Panel(
                "Failed store writes per 5 minutes",
                (q(f"increase(db_connection_errors_total{{{NODE}}}[5m])"),),
                description="001 DatabaseConnectionFailed: above 10",
            ),
            Panel(
                "Last processed and last stored block",
                (
                    q(f"last_processed_block{{{NODE}}}", "processed"),
                    q(f"store_committed_block{{{NODE}}}", "stored"),
                ),
            ),
        ),
    ),
    "paper-trading-safety": (
        "Edge node: paper-trading safety",
        (
            Panel(
                "Paper trading mode",
                (q(f"paper_trading_mode{{{NODE}}}"),),
                kind="stat",
                description="003 PaperTradingViolation: anything but 1 where paper is expected",
            ),
            Panel("Emergency stop", (q(f"emergency_stop_active{{{NODE}}}"),), kind="stat"),
            Panel(
                "Trading state (0 running, 1 paused, 2 stopped)",
                (q(f"trading_state{{{NODE}}}"),),
                kind="stat",
            ),
            Panel(
                "Live trades in the last hour",
                (q(f'sum(increase(trades_total{{{NODE}, mode="live"}}[1h]))'),),
                kind="stat",
            ),
            Panel(
                "Transactions signed per hour",
                (q(f"sum(increase(transactions_sent_total{{{NODE}}}[1h]))"),),
            ),
            Panel(
                "The node's own alerts by outcome",
                (
                    q(
                        f"sum by (outcome) (increase(node_alerts_total{{{NODE}}}[1h]))",
                        "{{outcome}}",
                    ),
                ),
            ),
        ),
    ),
}


def _panel(p: Panel) -> timeseries.Panel | stat.Panel:
    builder: timeseries.Panel | stat.Panel = (
        stat.Panel() if p.kind == "stat" else timeseries.Panel()
    )
    builder.title(p.title).unit(p.unit).datasource(DATASOURCE).span(8).height(8)
    if p.description:
        builder.description(p.description)
    for i, query in enumerate(p.queries):
        target = prometheus.Dataquery().expr(query.expr).ref_id(chr(ord("A") + i))
        if query.legend:
            target.legend_format(query.legend)
        builder.with_target(target)
    return builder


def build(uid: str) -> dashboard.Dashboard:
    title, panels = DASHBOARDS[uid]
    board = (
        dashboard.Dashboard(title)
        .uid(f"edge-{uid}")
        .tags(["edge-node"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("utc")
        .with_variable(dashboard.DatasourceVariable("datasource").type("prometheus"))
    )
    for p in panels:
        board.with_panel(_panel(p))
    return board


def render(uid: str) -> str:
    return json.dumps(build(uid).build(), cls=JSONEncoder, sort_keys=True, indent=2) + "\n"


def queries(uid: str) -> list[str]:
    """Every PromQL expression of one dashboard, read back from its JSON (what Grafana runs)."""
    doc = json.loads(render(uid))
    return [t["expr"] for p in doc["panels"] for t in p.get("targets", [])]


def main(argv: list[str]) -> int:
    check = argv[1:] == ["--check"]
    stale = []
    for uid in DASHBOARDS:
        path = OUT / f"{uid}.json"
        text = render(uid)
        if check:
            if not path.exists() or path.read_text() != text:
                stale.append(path.name)
        else:
            OUT.mkdir(exist_ok=True)
            path.write_text(text)
    if stale:
        print(f"out of date: {stale}: run python -m infra.monitoring.dashboards")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
