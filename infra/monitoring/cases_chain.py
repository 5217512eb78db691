"""promtool cases of the market data, RPC and resource rules (rule_cases.py writes them into
rules.test.yml): each rule fires in one case and stays silent in a near miss."""

from __future__ import annotations

from infra.monitoring.case_types import NODE, Case, Fires
from infra.monitoring.case_types import buckets as _buckets
from infra.monitoring.case_types import node as _node

_SLOW = {"0.1": "0+0x20", "1.0": "0+0x20", "2.5": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_FAST = {"0.1": "0+10x20", "1.0": "0+10x20", "2.5": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_RPC_SLOW = {"1.0": "0+0x20", "5.0": "0+0x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_RPC_FAST = {"1.0": "0+10x20", "5.0": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}

CASES: tuple[Case, ...] = (
    Case(
        "no block for 400 s",
        {f"last_block_age_seconds{{{NODE}}}": "400x5"},
        "3m",
        {"MarketDataStale": [Fires(_node(), "400")]},
    ),
    Case(
        "the last block is 290 s old",
        {f"last_block_age_seconds{{{NODE}}}": "290x5"},
        "3m",
        {"MarketDataStale": []},
    ),
    Case(
        "ten blocks behind the head",
        {f"head_lag_blocks{{{NODE}}}": "10x10"},
        "5m",
        {"RpcHeadLag": [Fires(_node(), "10")]},
    ),
    Case(
        "ten blocks behind, then one failed scrape (the series go stale for a minute)",
        {f"head_lag_blocks{{{NODE}}}": "10x5 stale 10x3"},
        "6m",
        {"RpcHeadLag": [Fires(_node(), "10")]},
    ),
    Case(
        "five blocks behind (the limit, not above it)",
        {f"head_lag_blocks{{{NODE}}}": "5x10"},
        "5m",
        {"RpcHeadLag": []},
    ),
    Case(
        "no block for 30 s on a 3 s chain (the only endpoint cut: the head lag stays put)",
        {
            f"head_lag_blocks{{{NODE}}}": "0x10",
            f"last_block_age_seconds{{{NODE}}}": "30x10",
            f"chain_block_interval_seconds{{{NODE}}}": "3x10",
        },
        "5m",
        {"RpcHeadLag": [Fires(_node(), "10")]},
    ),
    Case(
        "no block for 30 s on a 12 s chain (two and a half intervals)",
        {
            f"head_lag_blocks{{{NODE}}}": "0x10",
            f"last_block_age_seconds{{{NODE}}}": "30x10",
            f"chain_block_interval_seconds{{{NODE}}}": "12x10",
        },
        "5m",
        {"RpcHeadLag": []},
    ),
    Case(
        "no block for five intervals (the limit, not above it)",
        {
            f"head_lag_blocks{{{NODE}}}": "0x10",
            f"last_block_age_seconds{{{NODE}}}": "15x10",
            f"chain_block_interval_seconds{{{NODE}}}": "3x10",
        },
        "5m",
        {"RpcHeadLag": []},
    ),
    Case(
        "180 market data errors an hour",
        {f'market_data_errors_total{{{NODE}, kind="malformed_log"}}': "0+3x90"},
        "80m",
        {"MarketDataErrors": [Fires(_node(), "180")]},
    ),
    Case(
        "60 market data errors an hour",
        {f'market_data_errors_total{{{NODE}, kind="malformed_log"}}': "0+1x90"},
        "80m",
        {"MarketDataErrors": []},
    ),
    Case(
        "candles 90 s behind",
        {f"candlestick_aggregation_lag_seconds{{{NODE}}}": "90x5"},
        "4m",
        {"CandleAggregationLag": [Fires(_node(), "90")]},
    ),
    Case(
        "candles 60 s behind",
        {f"candlestick_aggregation_lag_seconds{{{NODE}}}": "60x5"},
        "4m",
        {"CandleAggregationLag": []},
    ),
    Case(
        "1500 commits queued",
        {f"event_queue_size{{{NODE}}}": "1500x10"},
        "7m",
        {"EventQueueBacklog": [Fires(_node(), "1500")]},
    ),
    Case(
        "1000 commits queued",
        {f"event_queue_size{{{NODE}}}": "1000x10"},
        "7m",
        {"EventQueueBacklog": []},
    ),
    Case(
        "a reconnection a minute for two hours",
        {f"websocket_reconnects_total{{{NODE}}}": "0+1x200"},
        "150m",
        {"WebSocketReconnectStorm": [Fires(_node(), "60")]},
    ),
    Case(
        "nine reconnections an hour",
        {f"websocket_reconnects_total{{{NODE}}}": "0+0.15x200"},
        "150m",
        {"WebSocketReconnectStorm": []},
    ),
    Case(
        "the websocket drops and stays down",
        {f"websocket_connections_total{{{NODE}}}": "1 1 1 0 0 0 0 0"},
        "7m",
        {"WebSocketDisconnected": [Fires(_node(), "0")]},
    ),
    Case(
        "the websocket comes back within two minutes; a polling node never had one",
        {
            f"websocket_connections_total{{{NODE}}}": "1 1 1 0 0 1 1 1",
            'websocket_connections_total{job="edge-node", instance="n2"}': "0x8",
        },
        "7m",
        {"WebSocketDisconnected": []},
    ),
    Case(
        "10% of an endpoint's requests time out",
        {
            f'rpc_requests_total{{{NODE}, endpoint="a", outcome="ok"}}': "0+90x20",
            f'rpc_requests_total{{{NODE}, endpoint="a", outcome="timeout"}}': "0+10x20",
            f'rpc_requests_total{{{NODE}, endpoint="b", outcome="ok"}}': "0+100x20",
            f'rpc_requests_total{{{NODE}, endpoint="b", outcome="timeout"}}': "0x20",
        },
        "15m",
        {"RpcErrorRate": [Fires(_node(endpoint="a"), "0.1")]},
    ),
    Case(
        "3% of the requests time out",
        {
            f'rpc_requests_total{{{NODE}, endpoint="a", outcome="ok"}}': "0+97x20",
            f'rpc_requests_total{{{NODE}, endpoint="a", outcome="timeout"}}': "0+3x20",
        },
        "15m",
        {"RpcErrorRate": []},
    ),
    Case(
        "an endpoint answers in 5 to 10 s",
        _buckets("rpc_request_duration_seconds", 'endpoint="a"', _RPC_SLOW),
        "15m",
        {"RpcSlowResponses": [Fires(_node(endpoint="a"), "9.75")]},
    ),
    Case(
        "an endpoint answers within 1 s",
        _buckets("rpc_request_duration_seconds", 'endpoint="a"', _RPC_FAST),
        "15m",
        {"RpcSlowResponses": []},
    ),
    Case(
        "2 GB resident",
        {f"process_resident_memory_bytes{{{NODE}}}": "2e9x15"},
        "12m",
        {"HighMemoryUsage": [Fires(_node(), "2e+09")]},
    ),
    Case(
        "2 GB resident for less than 10 minutes",
        {f"process_resident_memory_bytes{{{NODE}}}": "5e8x5 2e9x10"},
        "12m",
        {"HighMemoryUsage": []},
    ),
    Case(
        "95% CPU",
        {f"system_cpu_usage_percent{{{NODE}}}": "95x10"},
        "7m",
        {"HighCpuUsage": [Fires(_node(), "95")]},
    ),
    Case(
        "90% CPU",
        {f"system_cpu_usage_percent{{{NODE}}}": "90x10"},
        "7m",
        {"HighCpuUsage": []},
    ),
    Case(
        "store transactions of 1 to 2.5 s",
        _buckets("db_query_duration_seconds", 'operation="store_batch"', _SLOW),
        "15m",
        {"SlowDatabaseQueries": [Fires(_node(), "2.425")]},
    ),
    Case(
        "store transactions under 0.1 s",
        _buckets("db_query_duration_seconds", 'operation="journal_commit"', _FAST),
        "15m",
        {"SlowDatabaseQueries": []},
    ),
    Case(
        "API answers of 1 to 2.5 s",
        _buckets("http_request_duration_seconds", 'route="/health"', _SLOW),
        "15m",
        {"SlowResponseTime": [Fires(_node(), "2.425")]},
    ),
    Case(
        "API answers under 0.1 s",
        _buckets("http_request_duration_seconds", 'route="/health"', _FAST),
        "15m",
        {"SlowResponseTime": []},
    ),
    Case(
        "the volume is 80% full",
        {
            f"store_volume_free_bytes{{{NODE}}}": "20x80",
            f"store_volume_size_bytes{{{NODE}}}": "100x80",
        },
        "70m",
        {"DiskSpaceWarning": [Fires(_node(), "0.8")]},
    ),
    Case(
        "the volume is 65% full",
        {
            f"store_volume_free_bytes{{{NODE}}}": "35x80",
            f"store_volume_size_bytes{{{NODE}}}": "100x80",
        },
        "70m",
        {"DiskSpaceWarning": []},
    ),
    Case(
        "a 2 GB store",
        {f"store_size_bytes{{{NODE}}}": "2e9x80"},
        "70m",
        {"DatabaseSize": [Fires(_node(), "2e+09")]},
    ),
    Case(
        "a 900 MB store",
        {f"store_size_bytes{{{NODE}}}": "9e8x80"},
        "70m",
        {"DatabaseSize": []},
    ),
    Case(
        "five refused requests a minute",
        {f"api_unauthorized_requests_total{{{NODE}}}": "0+5x20"},
        "15m",
        {"UnauthorizedRequests": [Fires(_node(), "50")]},
    ),
    Case(
        "one refused request a minute",
        {f"api_unauthorized_requests_total{{{NODE}}}": "0+1x20"},
        "15m",
        {"UnauthorizedRequests": []},
    ),
)
