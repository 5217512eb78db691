"""What a dashboard is made of, before Grafana's SDK renders it (dashboards.py): panels of
PromQL queries, and the helpers the boards write their queries with."""

from __future__ import annotations

from dataclasses import dataclass

NODE = 'job="edge-node"'  # the label selector of every series the node exports


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


# A board's uid (the file name under grafana/) -> its title and panels, in order.
Boards = dict[str, tuple[str, tuple[Panel, ...]]]


def q(expr: str, legend: str = "") -> Query:
    return Query(expr, legend)


def p95(histogram: str, by: str) -> str:
    return (
        f"histogram_quantile(0.95, sum by ({by}, le) "
        f"(rate({histogram}_bucket{{{NODE}}}[$__rate_interval])))"
    )
