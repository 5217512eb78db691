"""The laptop's Alertmanager runs the edge host's configuration (infra/monitoring/
alertmanager_sns.py) with the laptop's topics in moto: amtool accepts it, every severity routes
to its own topic (an unknown one to high), and only the endpoint, the keys and the timings
differ from what the host is given."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.monitoring import alertmanager_sns
from laptop.aws import FAKE_CREDENTIALS, REGION
from laptop.monitoring import (
    ALERTMANAGER_NAMES,
    alertmanager_config,
    find_tool,
    write_alertmanager_config,
)
from tests.laptop.conftest import require_monitoring_tools

MOTO = "http://127.0.0.1:9"
TOPICS = {
    sev: f"arn:aws:sns:us-east-1:123456789012:edge-laptop-alerts-{sev}"
    for sev in alertmanager_sns.SEVERITIES
}


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def amtool() -> str:
    require_monitoring_tools()
    find_tool(ALERTMANAGER_NAMES)
    path = shutil.which("amtool")
    assert path, "amtool comes with Debian's prometheus-alertmanager package"
    return path


@pytest.fixture
def written(tmp_path: Path) -> Path:
    return write_alertmanager_config(alertmanager_config(TOPICS, MOTO), tmp_path)


def test_amtool_accepts_the_laptop_config_and_its_template(written: Path) -> None:
    tool = amtool()
    assert (written.parent / alertmanager_sns.TEMPLATE_NAME).read_text() == (
        alertmanager_sns.TEMPLATE
    )
    checked = run([tool, "check-config", str(written)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert " - 4 receivers\n - 1 templates\n  SUCCESS" in checked.stdout  # the template read


@pytest.mark.parametrize(
    ("severity", "receiver"),
    [
        *((sev, f"sns-{sev}") for sev in alertmanager_sns.SEVERITIES),
        ("warning", "sns-high"),
        ("unheard-of", "sns-high"),  # an unknown severity is not quietly low
    ],
)
def test_each_severity_routes_to_its_topic(written: Path, severity: str, receiver: str) -> None:
    routed = run(
        [
            amtool(),
            "config",
            "routes",
            "test",
            f"--config.file={written}",
            f"--verify.receivers={receiver}",
            "alertname=RpcHeadLag",
            f"severity={severity}",
        ]
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr


def without_laptop_overrides(cfg: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(cfg)
    for receiver in out["receivers"]:
        for sns in receiver["sns_configs"]:
            sns.pop("api_url", None)
            sns["sigv4"].pop("access_key", None)
            sns["sigv4"].pop("secret_key", None)
    for route in [out["route"], *out["route"]["routes"]]:
        for timing in ("group_wait", "group_interval", "repeat_interval"):
            route.pop(timing)
    return out


def test_only_the_endpoint_keys_and_timings_are_the_laptops() -> None:
    laptop = alertmanager_config(TOPICS, MOTO)
    deployed = alertmanager_sns.config(TOPICS, REGION, alertmanager_sns.TEMPLATE_NAME)
    assert without_laptop_overrides(laptop) == without_laptop_overrides(deployed)
    for receiver in laptop["receivers"]:
        (sns,) = receiver["sns_configs"]
        assert sns["api_url"] == MOTO
        assert sns["sigv4"] == {
            "region": REGION,
            "access_key": FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            "secret_key": FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        }
    for route in [laptop["route"], *laptop["route"]["routes"]]:
        assert (route["group_wait"], route["group_interval"]) == ("1s", "1s")
