"""Alertmanager's routes: each severity reaches the SNS topic of that severity (amtool), and the
committed files are what infra/monitoring/alertmanager_sns.py writes."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra import catalog
from infra.monitoring import alertmanager_sns, rule_cases
from shared import alert_notice
from tests.infra.monitoring.tools import MONITORING, run

CONFIG = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())

# Severity label -> receiver: the fan-out's four, and the spellings other rules may use.
ROUTES = {
    "critical": "sns-critical",
    "page": "sns-critical",
    "high": "sns-high",
    "warning": "sns-high",
    "medium": "sns-medium",
    "low": "sns-low",
    "info": "sns-low",
    "something-else": "sns-high",  # unknown: not quietly low
}


def _receivers() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in CONFIG["receivers"]}


def test_the_committed_files_are_generated() -> None:
    assert alertmanager_sns.main(["alertmanager_sns", "--check"]) == 0


def test_every_receiver_is_its_severitys_topic_with_resolutions() -> None:
    receivers = _receivers()
    assert set(receivers) == {f"sns-{s.value}" for s in catalog.Severity}
    for sev in catalog.Severity:
        r = receivers[f"sns-{sev.value}"]
        (sns,) = r["sns_configs"]
        assert sns["send_resolved"] is True
        assert sns["topic_arn"] == alertmanager_sns.EXAMPLE_TOPIC.format(severity=sev.value)
        assert set(sns["attributes"]) == set(alert_notice.ATTRIBUTES)
        assert set(r) == {"name", "sns_configs"}  # nothing else delivers around the fan-out


def test_one_alert_per_notification() -> None:
    """The attributes describe one alert: no route may group several."""
    assert CONFIG["route"]["group_by"] == ["..."]
    for route in CONFIG["route"]["routes"]:
        assert "group_by" not in route


def test_no_inhibit_rule_can_suppress_everything() -> None:
    for rule in CONFIG.get("inhibit_rules") or []:
        assert rule.get("equal"), rule  # without equal labels it silences every target
        assert rule.get("source_matchers") and rule.get("target_matchers"), rule


def test_every_rule_severity_is_routed() -> None:
    for name, rule in rule_cases.rules().items():
        assert rule["labels"]["severity"] in ROUTES, name


@pytest.mark.tools
def test_amtool_accepts_the_config() -> None:
    result = run("amtool", "check-config", "alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.tools
@pytest.mark.parametrize(("severity", "receiver"), sorted(ROUTES.items()))
def test_each_severity_reaches_its_receiver(severity: str, receiver: str) -> None:
    result = run(
        "amtool",
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yml",
        f"--verify.receivers={receiver}",
        f"severity={severity}",
        "alertname=HighErrorRate",
        "instance=n1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == receiver


@pytest.mark.tools
def test_a_wrong_receiver_is_refused() -> None:
    """amtool's verification really compares: the harness above can fail."""
    result = run(
        "amtool",
        "config",
        "routes",
        "test",
        "--config.file=alertmanager.yml",
        "--verify.receivers=sns-low",
        "severity=critical",
    )
    assert result.returncode != 0
