"""The metric-name reader the rule and dashboard checks rely on."""

from __future__ import annotations

import pytest

from infra.monitoring.promql import metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('up{job="edge-node"} == 0 or absent(up{job="edge-node"})', {"up"}),
        (
            'sum by (job, instance) (rate(http_requests_total{status=~"5.."}[5m])) > 0.05',
            {"http_requests_total"},
        ),
        (
            "histogram_quantile(0.95, sum by (le) (rate(a_seconds_bucket[5m]))) > 1e9",
            {"a_seconds_bucket"},
        ),
        ("x / on(instance) group_left(mode) y unless ignoring(kind) z", {"x", "y", "z"}),
        ("sum(rate(x[5m] offset 1h)) without (kind) > bool 2", {"x"}),
        ('{__name__="hidden"} + max_over_time(b[10m:1m])', {"hidden", "b"}),
        ('label_replace(x, "dst", "$1", "src", "(.*)")', {"x"}),
        ("1 - free / size > 0.70", {"free", "size"}),
        ("rate(c[$__rate_interval]) * 100", {"c"}),
        ("nan != inf", set()),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    assert metric_names(expr) == names
