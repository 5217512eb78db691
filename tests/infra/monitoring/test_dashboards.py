"""The Grafana dashboards: generated JSON committed and current, the seeds' boards all there,
every query reading metrics shared/metrics.py defines."""

from __future__ import annotations

import json

import pytest

from infra.monitoring import dashboards
from infra.monitoring.promql import metric_names
from shared import metrics

DEFINED = {name for spec in metrics.ALL for name in metrics.series_names(spec)}


def test_the_seeds_dashboards_are_all_there() -> None:
    assert set(dashboards.DASHBOARDS) == {
        "system-overview",
        "market-data-pipeline",
        "rpc-network",
        "trading",
        "database",
        "paper-trading-safety",
    }


@pytest.mark.parametrize("uid", sorted(dashboards.DASHBOARDS))
def test_the_committed_json_is_what_the_code_generates(uid: str) -> None:
    path = dashboards.OUT / f"{uid}.json"
    assert path.read_text() == dashboards.render(uid), "run python -m infra.monitoring.dashboards"


def test_no_stray_json() -> None:
    assert {p.stem for p in dashboards.OUT.glob("*.json")} == set(dashboards.DASHBOARDS)


@pytest.mark.parametrize("uid", sorted(dashboards.DASHBOARDS))
def test_every_panel_queries_defined_metrics(uid: str) -> None:
    doc = json.loads((dashboards.OUT / f"{uid}.json").read_text())
    assert doc["uid"] == f"edge-{uid}"
    assert doc["panels"]
    for panel in doc["panels"]:
        exprs = [t["expr"] for t in panel["targets"]]
        assert exprs, panel["title"]
        for expr in exprs:
            read = metric_names(expr)
            assert read, (panel["title"], expr)
            assert read <= DEFINED, (panel["title"], sorted(read - DEFINED))


def test_the_drift_check_notices_a_change(monkeypatch: pytest.MonkeyPatch) -> None:
    title, panels = dashboards.DASHBOARDS["database"]
    monkeypatch.setitem(dashboards.DASHBOARDS, "database", (title + " (edited)", panels))
    assert dashboards.main(["dashboards", "--check"]) == 1
