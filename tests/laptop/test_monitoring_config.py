"""The laptop's Prometheus and Alertmanager run the edge host's configurations: Prometheus'
(infra/host_monitoring.py) with the laptop's ports, paths and timings only, so with the same
job and target labels (``expected_mode`` too: PaperTradingViolation can fire), promtool
accepting it; Alertmanager's (infra/monitoring/alertmanager_sns.py) with the laptop's topics in
moto: amtool accepts it, every severity routes to its own topic (an unknown one to high), and
only the endpoint, the keys and the timings differ from what the host is given."""

from __future__ import annotations

import copy
import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra import host_monitoring
from infra.monitoring import alertmanager_sns
from laptop import compressed_rules
from laptop.aws import FAKE_CREDENTIALS, REGION
from laptop.monitoring import (
    ALERTMANAGER_NAMES,
    DEPLOYED_RULES,
    LIVE,
    NODE_NAME,
    PROMETHEUS_NAMES,
    Monitoring,
    Targets,
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


def laptop_monitoring(workdir: Path, rules: dict[str, Any]) -> Monitoring:
    targets = Targets(
        node="127.0.0.1:18080",
        node_token="laptop-token",
        alertmanager_port=19093,
        prometheus_port=19090,
        aws_endpoint=MOTO,
        topics=TOPICS,
    )
    return Monitoring(workdir, targets, rules)


def deployed_prometheus_config(node_name: str, live: bool) -> dict[str, Any]:
    sha = "0" * 64
    base = "https://github.com/prometheus"
    release = host_monitoring.MonitoringRelease(
        host_monitoring.Tarball(
            "prometheus",
            f"{base}/prometheus/releases/download/v2.53.4/prometheus-2.53.4.linux-amd64.tar.gz",
            sha,
        ),
        host_monitoring.Tarball(
            "alertmanager",
            f"{base}/alertmanager/releases/download/v0.28.1/alertmanager-0.28.1.linux-amd64.tar.gz",
            sha,
        ),
    )
    m = host_monitoring.HostMonitoring(
        release=release,
        region=REGION,
        api_port=8080,
        node_name=node_name,
        live=live,
        token_secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf",
        topics=TOPICS,
    )
    return dict(host_monitoring.prometheus_config(m))


def without_site(cfg: dict[str, Any]) -> dict[str, Any]:
    """A Prometheus configuration less what is where it runs: ports, paths, timings."""
    out = copy.deepcopy(cfg)
    out.pop("global")
    out.pop("rule_files")
    for am in out["alerting"]["alertmanagers"]:
        for sc in am["static_configs"]:
            sc.pop("targets")
    for scrape in out["scrape_configs"]:
        scrape["authorization"].pop("credentials_file")
        for sc in scrape["static_configs"]:
            sc.pop("targets")
    return out


def test_the_laptop_scrapes_as_the_host_does_with_its_labels(tmp_path: Path) -> None:
    monitoring = laptop_monitoring(tmp_path, compressed_rules.load(DEPLOYED_RULES))
    prom_cfg, _ = monitoring.write_configs()
    laptop = json.loads(prom_cfg.read_text())
    deployed = deployed_prometheus_config(NODE_NAME, LIVE)
    assert without_site(laptop) == without_site(deployed)  # the job, its labels, its auth
    ((target,),) = [s["static_configs"] for s in laptop["scrape_configs"]]
    assert target["labels"] == {"instance": "laptop", "expected_mode": "paper"}
    assert target["targets"] == ["127.0.0.1:18080"]
    assert laptop["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    # the token as the host gives it, in a file only its owner reads
    (scrape,) = laptop["scrape_configs"]
    token = Path(scrape["authorization"]["credentials_file"])
    assert token.read_text() == "laptop-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert laptop["global"] == {
        "scrape_interval": "2s",
        "scrape_timeout": "2s",
        "evaluation_interval": "1s",
    }


def test_promtool_accepts_the_laptops_prometheus_config(tmp_path: Path) -> None:
    require_monitoring_tools()
    find_tool(PROMETHEUS_NAMES)
    prom_cfg, _ = laptop_monitoring(tmp_path, compressed_rules.load(DEPLOYED_RULES)).write_configs()
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"
    checked = run([promtool, "check", "config", str(prom_cfg)])
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_rules_given_are_the_rules_evaluated(tmp_path: Path) -> None:
    """Monitoring takes the rules as the stack read them (once): what it compresses and writes
    is that content, not a second read of a file."""
    rules = {
        "groups": [
            {
                "name": "g",
                "rules": [{"alert": "OnlyHere", "expr": "vector(1)", "for": "10m"}],
            }
        ]
    }
    monitoring = laptop_monitoring(tmp_path, rules)
    prom_cfg, _ = monitoring.write_configs()
    (rule_file,) = json.loads(prom_cfg.read_text())["rule_files"]
    written = json.loads(Path(rule_file).read_text())
    assert written == compressed_rules.compress(rules)
    assert written["groups"][0]["rules"][0]["for"] == "10s"
