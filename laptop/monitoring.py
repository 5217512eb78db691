"""The real Prometheus and Alertmanager (Debian's packages), configured for the laptop and run
as child processes in their own process groups, always stopped by ``stop()``.

Prometheus scrapes the node's ``/prometheus`` (bearer token) every 2 s and evaluates the
deployed rules (shared/monitoring/rules.yml) every second, in compressed time (each ``for:``
scaled down, laptop/compressed_rules.py; written into the run directory), and sends to
Alertmanager. Alertmanager runs the edge host's deployed configuration
(infra/monitoring/alertmanager_sns.py and its template): every alert, one per message, published
to its severity's SNS topic in moto, with the message attributes the fan-out and the runbooks
read; only the endpoint, the keys and the timings are the laptop's. Who hears the topics is
laptop/subscriptions.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3

from infra.monitoring import alertmanager_sns
from laptop import aws, compressed_rules
from shared import monitoring

# The configurations are written as JSON, which both tools read as the YAML subset it is.
DEPLOYED_RULES = monitoring.RULES
PROMETHEUS_NAMES = ("prometheus",)
ALERTMANAGER_NAMES = ("prometheus-alertmanager", "alertmanager")  # Debian's name first


class ToolMissing(Exception):
    """Prometheus or Alertmanager is not installed: run ./scripts/setup (as root) or apt-get."""


def find_tool(names: tuple[str, ...]) -> str:
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    raise ToolMissing(
        f"{names[0]} is not installed; install Debian's prometheus and prometheus-alertmanager "
        "(apt-get install -y prometheus prometheus-alertmanager)"
    )


@dataclass(frozen=True, slots=True)
class Targets:
    node: str  # host:port of the node's API
    node_token: str
    alertmanager_port: int
    prometheus_port: int
    aws_endpoint: str  # moto's
    topics: Mapping[str, str]  # severity -> the alert topic in moto


def prometheus_config(t: Targets, rule_files: list[Path]) -> dict[str, Any]:
    return {
        # Scraped every 2 s with as long to answer: the node shares its process with the stack
        # (moto, the functions), and one scrape timing out marks every series stale, which
        # resolves a firing alert and fires it anew (a second runbook run) a `for:` later.
        "global": {
            "scrape_interval": "2s",
            "scrape_timeout": "2s",
            "evaluation_interval": "1s",
        },
        "rule_files": [str(p) for p in rule_files],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"127.0.0.1:{t.alertmanager_port}"]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "edge-node",
                "metrics_path": "/prometheus",
                "authorization": {"type": "Bearer", "credentials": t.node_token},
                "static_configs": [{"targets": [t.node]}],
            }
        ],
    }


def alertmanager_config(topics: Mapping[str, str], endpoint: str) -> dict[str, Any]:
    """The edge host's configuration (``alertmanager_sns.config``: every alert, one per
    message, to its severity's topic with the message attributes), for the laptop's topics in
    moto: only where it publishes (``api_url``, moto's keys for SigV4) and the timings (a second
    to group, as the rules' ``for:`` are compressed) differ. TEMPLATE_NAME is beside it."""
    cfg = alertmanager_sns.config(topics, aws.REGION, alertmanager_sns.TEMPLATE_NAME)
    for receiver in cfg["receivers"]:
        for sns in receiver["sns_configs"]:
            sns["api_url"] = endpoint
            sns["sigv4"].update(
                access_key=aws.FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                secret_key=aws.FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
    for route in [cfg["route"], *cfg["route"]["routes"]]:
        route.update(group_wait="1s", group_interval="1s", repeat_interval="4h")
    return cfg


def write_alertmanager_config(cfg: Mapping[str, Any], directory: Path) -> Path:
    """The configuration and its template (read relative to it), into ``directory``."""
    (directory / alertmanager_sns.TEMPLATE_NAME).write_text(alertmanager_sns.TEMPLATE)
    path = directory / "alertmanager.yml"
    path.write_text(json.dumps(cfg))
    return path


class Daemon:
    """One child process in its own process group (so that stopping it stops all of it)."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        self.name, self.argv, self.log_path = name, argv, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.proc = subprocess.Popen(  # noqa: S603 - argv: a found tool and our own flags
                self.argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            log.close()

    def stop(self, timeout: float = 10.0) -> None:
        p = self.proc
        if p is None or p.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait(5)

    def check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited ({self.proc.returncode}):\n{tail}")


def wait_ready(daemon: Daemon, url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        daemon.check_alive()
        with contextlib.suppress(urllib3.exceptions.HTTPError):
            if urllib3.request("GET", url, timeout=2, retries=False).status == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"{daemon.name} not ready at {url} within {timeout:.0f}s")


class Monitoring:
    def __init__(self, workdir: Path, targets: Targets, rules: Path = DEPLOYED_RULES):
        self.dir = workdir
        self.t = targets
        self.rules = rules  # compressed into the run directory by start()
        self.prometheus: Daemon | None = None
        self.alertmanager: Daemon | None = None

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.t.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.t.alertmanager_port}"

    def start(self) -> None:
        prom_bin, am_bin = find_tool(PROMETHEUS_NAMES), find_tool(ALERTMANAGER_NAMES)
        self.dir.mkdir(parents=True, exist_ok=True)
        deployed = compressed_rules.load(self.rules)
        rules = compressed_rules.write(
            compressed_rules.compress(deployed), self.dir / "rules.compressed.yml"
        )
        prom_cfg = self.dir / "prometheus.yml"
        prom_cfg.write_text(json.dumps(prometheus_config(self.t, [rules])))
        am_cfg = write_alertmanager_config(
            alertmanager_config(self.t.topics, self.t.aws_endpoint), self.dir
        )
        self.alertmanager = Daemon(
            "alertmanager",
            [
                am_bin,
                f"--config.file={am_cfg}",
                f"--storage.path={self.dir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.t.alertmanager_port}",
                "--cluster.listen-address=",  # one instance: no gossip port
            ],
            self.dir / "alertmanager.log",
        )
        self.prometheus = Daemon(
            "prometheus",
            [
                prom_bin,
                f"--config.file={prom_cfg}",
                f"--storage.tsdb.path={self.dir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.t.prometheus_port}",
                "--rules.alert.resend-delay=1s",
                "--rules.alert.for-grace-period=1s",
            ],
            self.dir / "prometheus.log",
        )
        self.alertmanager.start()
        wait_ready(self.alertmanager, f"{self.alertmanager_url}/-/ready")
        self.prometheus.start()
        wait_ready(self.prometheus, f"{self.prometheus_url}/-/ready")
        # ready answered by the process we started, not by something else on the port
        time.sleep(0.5)
        self.alertmanager.check_alive()
        self.prometheus.check_alive()
        # Started only once the node is scraped, so that what follows sees real figures.
        self.wait_scraped()

    def wait_scraped(self, timeout: float = 30.0) -> None:
        """Until Prometheus has scraped the node successfully (its discovery hands a new
        target to the scrapers after up to 5 s)."""
        assert self.prometheus is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.prometheus.check_alive()
            with contextlib.suppress(urllib3.exceptions.HTTPError, ValueError, KeyError):
                r = urllib3.request("GET", f"{self.prometheus_url}/api/v1/targets", timeout=2)
                targets = json.loads(r.data)["data"]["activeTargets"]
                if targets and all(t["health"] == "up" for t in targets):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"Prometheus did not scrape the node within {timeout:.0f}s")

    def stop(self) -> None:
        for d in (self.prometheus, self.alertmanager):
            if d is not None:
                d.stop()

    def alerts(self) -> list[dict[str, Any]]:
        """Prometheus's alerts (pending and firing) by its HTTP API."""
        r = urllib3.request("GET", f"{self.prometheus_url}/api/v1/alerts", timeout=5)
        data: dict[str, Any] = json.loads(r.data)
        alerts: list[dict[str, Any]] = data["data"]["alerts"]
        return alerts
