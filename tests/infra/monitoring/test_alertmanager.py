"""Alertmanager's routes: each severity reaches the fan-out's receiver for it (amtool)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from infra import catalog
from infra.monitoring import rule_cases
from tests.infra.monitoring.tools import MONITORING, run

CONFIG = yaml.safe_load((MONITORING / "alertmanager.yml").read_text())

# Severity label -> receiver: the fan-out's four, and the spellings other rules may use.
ROUTES = {
    "critical": "fanout-critical",
    "page": "fanout-critical",
    "high": "fanout-high",
    "warning": "fanout-high",
    "medium": "fanout-medium",
    "low": "fanout-low",
    "info": "fanout-low",
    "something-else": "fanout-high",  # unknown: not quietly low
}


def _receivers() -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in CONFIG["receivers"]}


def test_every_receiver_is_the_fan_outs_webhook_with_resolutions() -> None:
    receivers = _receivers()
    assert set(receivers) == {f"fanout-{s.value}" for s in catalog.Severity}
    urls = set()
    for r in receivers.values():
        (hook,) = r["webhook_configs"]
        assert hook["send_resolved"] is True
        urls.add(hook["url"])
        assert set(r) == {"name", "webhook_configs"}  # nothing else delivers around the fan-out
    assert len(urls) == 1


def test_groups_name_the_resource() -> None:
    assert {"alertname", "instance", "endpoint"} <= set(CONFIG["route"]["group_by"])
    for route in CONFIG["route"]["routes"]:
        assert "group_by" not in route or "instance" in route["group_by"]


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
        "--verify.receivers=fanout-low",
        "severity=critical",
    )
    assert result.returncode != 0
