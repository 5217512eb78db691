"""The shape of a promtool case (infra/monitoring/rule_cases.py) and helpers the case tables
share: the node's labels, and a histogram's buckets."""

from __future__ import annotations

from dataclasses import dataclass, field

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


def node(**extra: str) -> dict[str, str]:
    return {**NODE_LABELS, **extra}


def buckets(name: str, labels: str, counts: dict[str, str]) -> dict[str, str]:
    return {f'{name}_bucket{{{NODE}, {labels}, le="{le}"}}': v for le, v in counts.items()}
