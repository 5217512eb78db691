"""The Prometheus rules: the seeds' names, the fan-out's severities, the catalogue's runbooks,
metrics the node exports, and promtool's own check and unit tests (a firing and a non-firing
case for every rule)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import catalog
from infra.monitoring import rule_cases
from infra.monitoring.promql import metric_names
from shared import metrics
from tests.infra.monitoring.tools import MONITORING, run

RULES = rule_cases.rules()
SEVERITIES = {s.value for s in catalog.Severity}
# Series Prometheus makes itself, not the node.
SYNTHETIC = {"up"}
DEFINED = {name for spec in metrics.ALL for name in metrics.series_names(spec)} | SYNTHETIC

# The seeds' alert names that must exist (000, 001, 003, 004), and ours the issues ask for.
SEEDS = {
    "ServiceDown",
    "HighErrorRate",
    "DatabaseConnectionFailed",
    "HighMemoryUsage",
    "SlowDatabaseQueries",
    "WebSocketReconnectStorm",
    "DiskSpaceWarning",
    "PaperTradingViolation",
    "TradingBotDown",
    "DatabaseDown",
    "SlowResponseTime",
    "EmergencyStopActive",
    "MarketDataStale",
    "RpcHeadLag",
    "TradeSuccessRateP1",
    "TradeSuccessRateP2",
    "TradeSuccessRateP3",
}


def test_the_seeds_alerts_are_all_there() -> None:
    assert set(RULES) >= SEEDS, sorted(SEEDS - set(RULES))


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_has_a_fan_out_severity_a_summary_and_a_known_runbook(name: str) -> None:
    rule = RULES[name]
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["threshold"]  # the fan-out shows it beside the value
    runbook = rule["annotations"].get("runbook")
    assert runbook is None or runbook in catalog.RUNBOOKS


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_rule_reads_only_metrics_the_node_exports(name: str) -> None:
    read = metric_names(RULES[name]["expr"])
    assert read, "a rule that reads no metric"
    assert read <= DEFINED, sorted(read - DEFINED)


def test_a_name_means_one_severity_and_one_runbook_everywhere() -> None:
    """A CloudWatch alarm of infra/catalog/ and a rule of the same name agree."""
    shared = [a for a in catalog.ALARMS if a.name in RULES]
    assert len(shared) >= 5  # MarketDataStale, RpcHeadLag, HighMemoryUsage, DiskSpace, ...
    for alarm in shared:
        rule = RULES[alarm.name]
        assert rule["labels"]["severity"] == alarm.severity.value, alarm.name
        assert rule["annotations"].get("runbook") == alarm.runbook, alarm.name


def test_the_unit_tests_are_generated_from_rule_cases() -> None:
    assert rule_cases.TESTS.read_text() == rule_cases.render(), (
        "run python -m infra.monitoring.rule_cases"
    )


def _cases() -> list[dict[str, Any]]:
    doc = yaml.safe_load(rule_cases.TESTS.read_text())
    return [t for group in doc["tests"] for t in group["alert_rule_test"]]


def test_every_rule_has_a_firing_and_a_non_firing_case() -> None:
    fires = {c["alertname"] for c in _cases() if c["exp_alerts"]}
    silent = {c["alertname"] for c in _cases() if not c["exp_alerts"]}
    assert set(RULES) - fires == set(), "rules never seen firing"
    assert set(RULES) - silent == set(), "rules never seen staying silent"


def test_every_tested_alert_exists() -> None:
    # promtool passes a test of a misspelled alert that "does not fire" (prometheus #8504).
    tested = {c["alertname"] for c in _cases()}
    assert tested - set(RULES) == set()


def test_go_float_prints_like_prometheus() -> None:
    assert [rule_cases.go_float(v) for v in ("0", "25", "0.1", "2e9", "1e5", "1234567")] == [
        "0",
        "25",
        "0.1",
        "2e+09",
        "100000",
        "1.234567e+06",
    ]


@pytest.mark.tools
def test_promtool_checks_the_rules_and_the_scrape_config() -> None:
    rules = run("promtool", "check", "rules", str(rule_cases.RULES))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in rules.stdout
    config = run("promtool", "check", "config", "--syntax-only", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


@pytest.mark.tools
def test_promtool_unit_tests_pass() -> None:
    result = run("promtool", "test", "rules", "rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.tools
def test_promtool_unit_tests_catch_a_changed_threshold(tmp_path: Path) -> None:
    """The cases are not empty promises: move one threshold and they fail."""
    tests_dir, rules_dir = tmp_path / "infra" / "monitoring", tmp_path / "shared" / "monitoring"
    tests_dir.mkdir(parents=True)
    rules_dir.mkdir(parents=True)
    shutil.copy(MONITORING / "rules.test.yml", tests_dir)
    text = rule_cases.RULES.read_text()
    moved = text.replace(
        'last_block_age_seconds{job="edge-node"} > 300',
        'last_block_age_seconds{job="edge-node"} > 500',
    )
    assert moved != text
    (rules_dir / "rules.yml").write_text(moved)
    result = run("promtool", "test", "rules", "rules.test.yml", cwd=tests_dir)
    assert result.returncode != 0
    assert "MarketDataStale" in result.stdout + result.stderr
