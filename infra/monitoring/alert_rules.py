"""The alerting rules of the node's release (shared/monitoring/rules.yml) by name: read by the
Pulumi program (each runbook's topics, alertmanager_sns.runbook_topics) and by the promtool
cases (rule_cases.py), so the program never imports the cases to get them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared import monitoring


def rules(path: Path = monitoring.RULES) -> dict[str, dict[str, Any]]:
    """Every alerting rule in ``path`` (a Prometheus rule file) by its alert name; recording
    rules are left out."""
    data = yaml.safe_load(path.read_text())
    return {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}
