"""The Grafana dashboards the seeds list, as code (Grafana's foundation SDK, pinned).

``python -m infra.monitoring.dashboards`` writes one JSON file per dashboard in grafana/
(committed: a test fails if it drifts from this module), ready to import or provision. Every
query reads metrics shared/metrics.py defines (tested), over a Prometheus data source chosen
with the ``datasource`` variable.

Seeds: 001 "Recommended Grafana panels" (system overview, application health, trading,
database performance), 002 (service health: API latency and errors), 003 (paper-trading
safety, real-time data feeds), 000 (market data pipeline, RPC and network).

The boards are defined in node_dashboards.py and trading_dashboards.py (with the panel records
of panels.py); this module renders them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import DataSourceRef

from infra.monitoring.node_dashboards import NODE_DASHBOARDS
from infra.monitoring.panels import Boards, Panel
from infra.monitoring.trading_dashboards import TRADING_DASHBOARDS

OUT = Path(__file__).resolve().parent / "grafana"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")

DASHBOARDS: Boards = {**NODE_DASHBOARDS, **TRADING_DASHBOARDS}


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
