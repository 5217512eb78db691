"""The report's metric points as CloudWatch EMF records (powertools), one record per set of
dimensions: the node's figures together, each endpoint's together, each check's success apart.

``EphemeralMetrics`` rather than the handler's ``Metrics``: a point's dimensions differ from one
check to the next, and ``Metrics`` holds one dimension set per flush (and shares its state
across instances).
"""

from __future__ import annotations

from collections.abc import Iterable

from functions.common.observability import NAMESPACE
from functions.probe.checks import Point

SERVICE = "probe"


def group(points: Iterable[Point]) -> dict[tuple[tuple[str, str], ...], list[Point]]:
    groups: dict[tuple[tuple[str, str], ...], list[Point]] = {}
    for p in points:
        groups.setdefault(p.dimensions, []).append(p)
    return groups


def publish(points: Iterable[Point], environment: str | None = None) -> int:
    """Print the EMF records (Lambda sends stdout to CloudWatch Logs, which makes the metrics);
    returns how many records were written."""
    from aws_lambda_powertools.metrics import EphemeralMetrics

    written = 0
    for dims, members in group(points).items():
        em = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
        if environment:
            em.set_default_dimensions(environment=environment)
        for name, value in dims:
            em.add_dimension(name=name, value=value)
        for p in members:
            em.add_metric(name=p.metric.name, unit=p.metric.unit, value=p.value)
        em.flush_metrics()
        written += 1
    return written
