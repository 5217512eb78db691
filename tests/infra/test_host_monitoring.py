"""Prometheus and Alertmanager on the edge host (infra/host_monitoring.py): the pinned releases
are refused when unusable, and every file the boot script writes is accepted by the real
promtool and amtool (Debian's, the oldest versions the host may run) and says what it must."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from infra.host_boot import Boot, Release, packed, user_data
from infra.host_monitoring import (
    ETC,
    TOKEN_FILE,
    BadMonitoringRelease,
    HostMonitoring,
    MonitoringRelease,
    Tarball,
    files,
    units,
)
from shared import alert_notice
from shared.monitoring import RULES
from tests.infra.monitoring.tools import require
from tests.infra.program import SHA

PROM = "https://github.com/prometheus/prometheus/releases/download/v2.53.4/prometheus-2.53.4.linux-amd64.tar.gz"
AM = "https://github.com/prometheus/alertmanager/releases/download/v0.28.1/alertmanager-0.28.1.linux-amd64.tar.gz"
TOPICS = {s: f"arn:aws:sns:eu-west-1:123456789012:edge-prod-alerts-{s}" for s in
          ("critical", "high", "medium", "low")}  # fmt: skip


def monitoring(**kw: object) -> HostMonitoring:
    base: dict[str, object] = {
        "release": MonitoringRelease(
            Tarball("prometheus", PROM, SHA), Tarball("alertmanager", AM, SHA)
        ),
        "region": "eu-west-1", "api_port": 8080, "node_name": "edge-1", "live": False,
        "token_secret_arn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:t-AbCdEf",
        "topics": TOPICS,
    }  # fmt: skip
    base.update(kw)
    return HostMonitoring(**base)  # type: ignore[arg-type]


def boot_script(m: HostMonitoring) -> str:
    return user_data(
        Boot(
            release=Release("https://releases.example.com/edge_node-0.1.0-py3-none-any.whl", SHA),
            region="eu-west-1",
            stop_timeout_s=75,
            config_parameter="/edge-prod/c",
            token_secret_arn="arn:t",
            db_secret_arn="arn:d",
            rpc_secret_arn="arn:r",
            log_group="/edge-prod/edge-node",
            monitoring=m,
        )
    )


@pytest.mark.parametrize(
    ("tool", "url", "sha", "problem"),
    [
        ("prometheus", PROM.replace("https", "http"), SHA, "https URL"),
        ("prometheus", PROM.replace("amd64", "arm64"), SHA, "x86_64"),
        ("prometheus", PROM, "abc", "sha256"),
        ("prometheus", PROM.replace("2.53.4", "2.41.0"), SHA, "outside what the rules"),
        ("prometheus", PROM.replace("2.53.4", "4.0.0"), SHA, "outside what the rules"),
        ("alertmanager", AM.replace("0.28.1", "0.24.0"), SHA, "outside what the rules"),
        ("alertmanager", PROM, SHA, "alertmanager-<x.y.z>"),
    ],
)
def test_an_unusable_release_is_refused(tool: str, url: str, sha: str, problem: str) -> None:
    with pytest.raises(BadMonitoringRelease, match=problem):
        Tarball(tool, url, sha)


def test_the_boot_script_checks_both_tarballs_before_unpacking() -> None:
    text = boot_script(monitoring())
    for t in (monitoring().release.prometheus, monitoring().release.alertmanager):
        path = f"/opt/edge-monitoring/{t.directory}.tar.gz"
        check = text.index(f"echo '{t.sha256}  {path}' | sha256sum --check --strict")
        assert check < text.index(f"tar -xzf {path}")
    # the checks run before anything starts, and monitoring starts before the node
    assert text.index("amtool check-config") < text.index("enable --now edge-alertmanager")
    assert text.index("enable --now edge-alertmanager") < text.index("enable --now edge-node")


def test_the_boot_script_is_valid_bash_and_fits_ec2s_limit_compressed() -> None:
    text = boot_script(monitoring())
    assert subprocess.run(["bash", "-n"], input=text, text=True, check=False).returncode == 0
    assert len(packed(text)) * 3 // 4 < 16 * 1024
    # every heredoc is closed
    for tag in re.findall(r"<<'(\w+)'", text):
        assert f"\n{tag}\n" in text, tag


def test_prometheus_scrapes_the_node_with_the_rotating_token() -> None:
    cfg = yaml.safe_load(files(monitoring())[f"{ETC}/prometheus.yml"])
    (scrape,) = cfg["scrape_configs"]
    assert scrape["job_name"] == "edge-node"
    assert scrape["authorization"]["credentials_file"] == TOKEN_FILE
    (target,) = scrape["static_configs"]
    assert target["targets"] == ["127.0.0.1:8080"]
    assert target["labels"] == {"instance": "edge-1", "expected_mode": "paper"}
    live = yaml.safe_load(files(monitoring(live=True))[f"{ETC}/prometheus.yml"])
    assert live["scrape_configs"][0]["static_configs"][0]["labels"]["expected_mode"] == "live"
    u = units(monitoring())
    assert f"--token-file {TOKEN_FILE}" in u["edge-prometheus.service"]
    assert f"--token-file {TOKEN_FILE}" in u["edge-prometheus-token.service"]
    assert "OnUnitActiveSec=2min" in u["edge-prometheus-token.timer"]
    for name in ("edge-prometheus.service", "edge-alertmanager.service"):
        assert "Restart=always" in u[name] and "127.0.0.1:" in u[name], name


def test_alertmanager_publishes_to_the_stacks_topics() -> None:
    cfg = yaml.safe_load(files(monitoring())[f"{ETC}/alertmanager.yml"])
    got = {r["name"]: r["sns_configs"][0] for r in cfg["receivers"]}
    assert {name: c["topic_arn"] for name, c in got.items()} == {
        f"sns-{s}": arn for s, arn in TOPICS.items()
    }
    for c in got.values():
        assert c["sigv4"] == {"region": "eu-west-1"}  # the instance role's credentials
        assert set(c["attributes"]) == set(alert_notice.ATTRIBUTES)


@pytest.mark.tools
def test_the_real_tools_accept_what_the_boot_script_writes(tmp_path: Path) -> None:
    written = files(monitoring())
    root = tmp_path / "root"

    def place(path: str) -> Path:
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        # the host's absolute paths, re-rooted under tmp_path
        target.write_text(written[path].replace(ETC, str(root / ETC.lstrip("/"))))
        return target

    prom, am = place(f"{ETC}/prometheus.yml"), place(f"{ETC}/alertmanager.yml")
    place(f"{ETC}/edge-sns.tmpl")
    (root / ETC.lstrip("/") / "rules.yml").symlink_to(RULES)
    promtool, amtool = require("promtool"), require("amtool")
    for argv in (
        [promtool, "check", "config", "--syntax-only", str(prom)],
        [promtool, "check", "rules", str(root / ETC.lstrip("/") / "rules.yml")],
        [amtool, "check-config", str(am)],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
    # and a broken file is refused (the check is not a formality)
    am.write_text(am.read_text().replace("receiver: sns-high", "receiver: nobody", 1))
    result = subprocess.run(
        [amtool, "check-config", str(am)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0


def test_the_release_wheel_ships_the_rules(tmp_path: Path) -> None:
    """The host links the rules from the installed release: the wheel must carry them, and
    the ones it carries are the tested ones."""
    root = Path(__file__).resolve().parents[2]
    uv = root / ".tools" / "uv" / "bin" / "uv"
    assert uv.exists(), "uv is installed by ./scripts/setup"
    built = subprocess.run(
        [str(uv), "build", "--wheel", "-q", "-o", str(tmp_path), str(root)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("edge_node-*.whl")
    with zipfile.ZipFile(wheel) as z:
        assert z.read("shared/monitoring/rules.yml") == RULES.read_bytes()
        assert "shared/alert_notice.py" in z.namelist()
