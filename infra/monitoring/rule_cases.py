"""The promtool unit tests of rules.yml, as data: ``python -m infra.monitoring.rule_cases``
writes rules.test.yml (committed; a test fails if it drifts from this module).

Why generated: promtool compares every annotation of a firing alert, templates expanded, so a
hand-written test repeats each rule's text; here the expected annotations are expanded from
rules.yml itself, and each case states only its series, its time and what must fire.

Every rule has at least one case where it fires and one where it does not, the latter a near
miss where one exists (just under the threshold, or not yet for long enough): an empty
``exp_alerts`` alone proves nothing (prometheus PRs #8462, #8504).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from shared import monitoring

HERE = Path(__file__).resolve().parent
RULES = monitoring.RULES
# rules.test.yml names the rules relative to itself, as promtool reads it
RULES_FROM_TESTS = "../../shared/monitoring/rules.yml"
TESTS = HERE / "rules.test.yml"

NODE = 'job="edge-node", instance="n1"'
NODE_LABELS = {"job": "edge-node", "instance": "n1"}


@dataclass(frozen=True)
class Fires:
    """One alert expected: its labels beyond the rule's own, and ``$value`` as Go prints it."""

    labels: dict[str, str]
    value: str


@dataclass(frozen=True)
class Case:
    title: str
    series: dict[str, str]  # series selector -> promtool values notation
    at: str  # eval_time
    expect: dict[str, list[Fires]] = field(default_factory=dict)  # alert -> [] = must not fire


def _node(**extra: str) -> dict[str, str]:
    return {**NODE_LABELS, **extra}


def _buckets(name: str, labels: str, counts: dict[str, str]) -> dict[str, str]:
    return {f'{name}_bucket{{{NODE}, {labels}, le="{le}"}}': v for le, v in counts.items()}


_SLOW = {"0.1": "0+0x20", "1.0": "0+0x20", "2.5": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_FAST = {"0.1": "0+10x20", "1.0": "0+10x20", "2.5": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_RPC_SLOW = {"1.0": "0+0x20", "5.0": "0+0x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_RPC_FAST = {"1.0": "0+10x20", "5.0": "0+10x20", "10.0": "0+10x20", "+Inf": "0+10x20"}
_RATE_ALERTS = ("TradeSuccessRateP1", "TradeSuccessRateP2", "TradeSuccessRateP3")


def _trades(mined: str, reverted: str, value: str | None, band: str | None) -> Case:
    expect: dict[str, list[Fires]] = {name: [] for name in _RATE_ALERTS}
    if band is not None and value is not None:
        expect[band] = [Fires({**_node(), "mode": "live"}, value)]
    return Case(
        f"success rate with {mined} mined and {reverted} reverted a minute",
        {
            f'trades_total{{{NODE}, mode="live", status="mined"}}': f"0+{mined}x120",
            f'trades_total{{{NODE}, mode="live", status="reverted"}}': f"0+{reverted}x120",
            f'trades_total{{{NODE}, mode="live", status="refused"}}': "0+50x120",
        },
        "90m",
        expect,
    )


CASES: tuple[Case, ...] = (
    Case(
        "the node stops answering its scrape",
        {f"up{{{NODE}}}": "0x5"},
        "3m",
        {"ServiceDown": [Fires(_node(), "0")]},
    ),
    Case(
        "the node was never scraped at all",
        {f"health_check_status{{{NODE}}}": "1x5"},
        "3m",
        {"ServiceDown": [Fires({"job": "edge-node"}, "1")], "TradingBotDown": []},
    ),
    Case(
        "a scrape failed for less than a minute",
        {f"up{{{NODE}}}": "1 1 1 0"},
        "3m",
        {"ServiceDown": []},
    ),
    Case(
        "the node is up but unhealthy",
        {f"health_check_status{{{NODE}}}": "0x5"},
        "3m",
        {"TradingBotDown": [Fires(_node(), "0")]},
    ),
    Case(
        "unhealthy for less than a minute",
        {f"health_check_status{{{NODE}}}": "1 1 1 0"},
        "3m",
        {"TradingBotDown": []},
    ),
    Case(
        "the store does not answer",
        {f"store_database_up{{{NODE}}}": "0x3"},
        "2m",
        {"DatabaseDown": [Fires(_node(), "0")]},
    ),
    Case(
        "the store answers",
        {f"store_database_up{{{NODE}}}": "1x3"},
        "2m",
        {"DatabaseDown": []},
    ),
    Case(
        "five failed store writes a minute",
        {f"db_connection_errors_total{{{NODE}}}": "0+5x20"},
        "15m",
        {"DatabaseConnectionFailed": [Fires(_node(), "25")]},
    ),
    Case(
        "ten failed store writes in five minutes (not more than ten)",
        {f"db_connection_errors_total{{{NODE}}}": "0+2x20"},
        "15m",
        {"DatabaseConnectionFailed": []},
    ),
    Case(
        "0.1 5xx a second",
        {
            f'http_requests_total{{{NODE}, route="/health", status="500"}}': "0+6x20",
            f'http_requests_total{{{NODE}, route="/health", status="200"}}': "0+600x20",
        },
        "15m",
        {"HighErrorRate": [Fires(_node(), "0.1")]},
    ),
    Case(
        "0.033 5xx a second",
        {
            f'http_requests_total{{{NODE}, route="/health", status="500"}}': "0+2x20",
            f'http_requests_total{{{NODE}, route="/health", status="401"}}': "0+600x20",
        },
        "15m",
        {"HighErrorRate": []},
    ),
    Case(
        "a paper node switched to live",
        {f'paper_trading_mode{{{NODE}, expected_mode="paper"}}': "1 0 0"},
        "2m",
        {"PaperTradingViolation": [Fires(_node(expected_mode="paper"), "0")]},
    ),
    Case(
        "a live trade recorded on a paper node",
        {
            f'paper_trading_mode{{{NODE}, expected_mode="paper"}}': "1x5",
            f'trades_total{{{NODE}, expected_mode="paper", mode="live", status="mined"}}': (
                "0 0 1 1 1"
            ),
        },
        "3m",
        {"PaperTradingViolation": [Fires(_node(expected_mode="paper"), "1.5")]},
    ),
    Case(
        "a paper node trading on paper, and a node meant to be live",
        {
            f'paper_trading_mode{{{NODE}, expected_mode="paper"}}': "1x5",
            f'trades_total{{{NODE}, expected_mode="paper", mode="paper", status="simulated"}}': (
                "0+1x5"
            ),
            'paper_trading_mode{job="edge-node", instance="n2", expected_mode="live"}': "0x5",
        },
        "3m",
        {"PaperTradingViolation": []},
    ),
    Case(
        "the emergency stop is pulled",
        {f"emergency_stop_active{{{NODE}}}": "0 1 1"},
        "2m",
        {"EmergencyStopActive": [Fires(_node(), "1")]},
    ),
    Case(
        "the emergency stop is released",
        {f"emergency_stop_active{{{NODE}}}": "1 0 0"},
        "2m",
        {"EmergencyStopActive": []},
    ),
    _trades("1", "9", "0.1", "TradeSuccessRateP1"),
    _trades("3", "7", "0.3", "TradeSuccessRateP2"),
    _trades("5", "5", "0.5", "TradeSuccessRateP3"),
    _trades("7", "3", None, None),
    _trades("0", "0.1", None, None),  # six attempts an hour, all failed: too few to judge
    Case(
        "two of the node's alerts dropped",
        {f'node_alerts_total{{{NODE}, outcome="dropped"}}': "0 0 0 2 2 2"},
        "5m",
        {"NodeAlertsLost": [Fires(_node(), "2")]},
    ),
    Case(
        "every alert of the node sent",
        {
            f'node_alerts_total{{{NODE}, outcome="dropped"}}': "0x5",
            f'node_alerts_total{{{NODE}, outcome="sent"}}': "0+1x5",
        },
        "5m",
        {"NodeAlertsLost": []},
    ),
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


def rules() -> dict[str, dict[str, Any]]:
    """Every alerting rule in rules.yml by name."""
    data = yaml.safe_load(RULES.read_text())
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}


_TEMPLATE = re.compile(r"\{\{\s*(\$value|\$labels\.(\w+))\s*\}\}")


def expand(text: str, labels: dict[str, str], value: str) -> str:
    """The two template forms the rules use, as Prometheus expands them."""

    def one(m: re.Match[str]) -> str:
        return value if m.group(1) == "$value" else labels.get(m.group(2) or "", "")

    return _TEMPLATE.sub(one, text)


def go_float(text: str) -> str:
    """A number as Go's fmt prints a float64 (%v: the shortest digits, in exponent form below
    1e-4 and from 1e6 on): how ``{{ $value }}`` renders."""
    d = Decimal(repr(float(text))).normalize()
    if d == 0:
        return "0"
    _, digits, exp = d.as_tuple()
    assert isinstance(exp, int)
    point = len(digits) + exp  # the decimal point's position after the first digit's
    e = point - 1
    if e < -4 or e >= 6:
        mantissa = "".join(map(str, digits))
        body = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        return f"{'-' if d < 0 else ''}{body}e{'-' if e < 0 else '+'}{abs(e):02d}"
    return format(d, "f")


def _alert(rule: dict[str, Any], fires: Fires) -> dict[str, Any]:
    labels = {**fires.labels, **rule.get("labels", {})}
    return {
        "exp_labels": labels,
        "exp_annotations": {
            k: expand(v, labels, fires.value) for k, v in rule.get("annotations", {}).items()
        },
    }


def document() -> dict[str, Any]:
    by_name = rules()
    tests = []
    for case in CASES:
        tests.append(
            {
                "name": case.title,
                "interval": "1m",
                "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
                "alert_rule_test": [
                    {
                        "eval_time": case.at,
                        "alertname": name,
                        "exp_alerts": [_alert(by_name[name], f) for f in fired],
                    }
                    for name, fired in case.expect.items()
                ],
            }
        )
    return {"rule_files": [RULES_FROM_TESTS], "evaluation_interval": "1m", "tests": tests}


def render() -> str:
    header = "# Generated by `python -m infra.monitoring.rule_cases`: edit rule_cases.py.\n"
    return header + yaml.safe_dump(document(), sort_keys=False, width=100, allow_unicode=True)


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if TESTS.read_text() != text:
            print(f"{TESTS} differs from rule_cases.py: run python -m infra.monitoring.rule_cases")
            return 1
        return 0
    TESTS.write_text(text)
    print(f"wrote {TESTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
