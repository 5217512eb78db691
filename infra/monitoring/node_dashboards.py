"""The boards on the node itself and its data feeds: system overview (001, 002: process,
volume, API), the market data pipeline (000) and the RPC endpoints and network (000)."""

from __future__ import annotations

from infra.monitoring.panels import NODE, Boards, Panel, p95, q

NODE_DASHBOARDS: Boards = {
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
                (q(p95("http_request_duration_seconds", "route"), "{{route}}"),),
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
                (q(p95("rpc_request_duration_seconds", "endpoint"), "{{endpoint}}"),),
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
}
