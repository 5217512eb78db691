"""The deployed alerting rules (shared/monitoring/rules.yml) in compressed time, for the laptop's
Prometheus: the same expressions, labels and annotations, each rule's ``for:`` scaled down so
that what waits minutes in production waits seconds here (pure, but for ``write``).

Only ``for:`` is scaled: the range windows in the expressions (``[5m]``, ``[1h]``) are kept, so
a rate reads the same data; and an alert's own thresholds are the deployed ones.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

# A minute of `for:` becomes a second: TradeSuccessRate's 15m waits 15 s,
# WebSocketReconnectStorm's 1h a minute ...
FOR_SCALE = Decimal(1) / Decimal(60)
# ... but never less than 10 s: Prometheus hands a new scrape target to its scrapers after up to
# 5 s (its discovery updates are throttled), and ServiceDown's `absent(up)` must not fire before
# the first scrape; a few scrapes (every 2 s) also make a `for:` mean more than one sample.
# RpcHeadLag's 3m waits 10 s. A `for: 0s` stays 0s.
MIN_FOR_MS = 10_000

_UNIT_MS = {
    "ms": 1,
    "s": 1000,
    "m": 60_000,
    "h": 3_600_000,
    "d": 86_400_000,
    "w": 7 * 86_400_000,
    "y": 365 * 86_400_000,
}
_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")


class BadDuration(ValueError):
    """Not a Prometheus duration ("3m", "1h30m", "500ms"): fix the rule."""


def duration_ms(text: str) -> int:
    """A Prometheus duration in milliseconds."""
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise BadDuration(f"not a Prometheus duration: {text!r}")
    return sum(int(n) * _UNIT_MS[u] for n, u in parts)


def compressed_for(text: str, scale: Decimal = FOR_SCALE, floor_ms: int = MIN_FOR_MS) -> str:
    """``text`` scaled by ``scale`` (whole milliseconds), at least ``floor_ms`` unless zero."""
    ms = duration_ms(text)
    if ms == 0:
        return "0s"
    scaled = max(int(ms * scale), floor_ms)
    return f"{scaled // 1000}s" if scaled % 1000 == 0 else f"{scaled}ms"


def compress(rules: Mapping[str, Any], scale: Decimal = FOR_SCALE) -> dict[str, Any]:
    """A copy of a rules file's content with every rule's ``for:`` and ``keep_firing_for:``
    compressed."""
    out: dict[str, Any] = copy.deepcopy(dict(rules))
    for group in out.get("groups") or []:
        for rule in group.get("rules") or []:
            for key in ("for", "keep_firing_for"):  # a hold scales as the wait does
                if key in rule:
                    rule[key] = compressed_for(str(rule[key]), scale)
    return out


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path} is not a rules file (no mapping at the top)")
    return data


def write(rules: Mapping[str, Any], dest: Path) -> Path:
    """The rules as a file Prometheus reads (JSON, the YAML subset it is)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(rules, indent=1))
    return dest
