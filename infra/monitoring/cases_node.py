"""promtool cases of the node's availability, safety and trading rules (rule_cases.py writes
them into rules.test.yml): each rule fires in one case and stays silent in a near miss."""

from __future__ import annotations

from infra.monitoring.case_types import NODE, Case, Fires
from infra.monitoring.case_types import node as _node

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
)
