"""The boards on what the node does with its data: trading (001, 004), the database it stores
into (001) and paper-trading safety (003)."""

from __future__ import annotations

from infra.monitoring.panels import NODE, Boards, Panel, p95, q

_SUCCESS = 'status=~"mined|simulated"'
_ATTEMPTS = 'status=~"mined|simulated|reverted|simulation_failed|failed"'

TRADING_DASHBOARDS: Boards = {
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
                (q(p95("db_query_duration_seconds", "operation"), "{{operation}}"),),
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
