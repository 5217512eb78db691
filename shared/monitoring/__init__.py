"""The Prometheus alerting rules on the node's metrics (``rules.yml``), shipped in the node's
release so that a host evaluates the rules written for the metrics its node exports (the edge
host links them into its Prometheus; infra/host_boot.py). Tested in tests/infra/monitoring."""

from pathlib import Path

RULES = Path(__file__).with_name("rules.yml")
