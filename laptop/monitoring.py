"""The real Prometheus and Alertmanager (Debian's packages), configured for the laptop and run
as child processes in their own process groups, always stopped by ``stop()``.

Prometheus runs the edge host's configuration (``host_monitoring.prometheus_config_for``: the
job, the target's labels, ``expected_mode`` included, the bearer token file) at the laptop's
site: it scrapes the node's ``/prometheus`` every 2 s and evaluates the deployed rules
(shared/monitoring/rules.yml, as the stack read them) every second, in compressed time (each
``for:`` scaled down, laptop/compressed_rules.py; written into the run directory), and sends
to Alertmanager. Alertmanager runs the edge host's deployed configuration
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

from infra.host_monitoring import PrometheusSite, prometheus_config_for
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


# The demo node is the laptop's (laptop/chain.py), on paper: the scrape target says so, as the
# edge host's says what its stack's node must be, so that PaperTradingViolation reads the same.
NODE_NAME = "laptop"
LIVE = False


def prometheus_site(t: Targets, rule_files: list[Path], token_file: Path) -> PrometheusSite:
    """Where the laptop's Prometheus finds things, and its timings: all else is the edge
    host's configuration. Scraped every 2 s with as long to answer: the node shares its
    process with the stack (moto, the functions), and one scrape timing out marks every series
    stale, which resolves a firing alert and fires it anew (a second runbook run) a `for:`
    later; the rules evaluated every second (their `for:` are compressed)."""
    return PrometheusSite(
        node=t.node,
        alertmanager=f"127.0.0.1:{t.alertmanager_port}",
        rule_files=tuple(str(p) for p in rule_files),
        token_file=str(token_file),
        scrape_interval="2s",
        evaluation_interval="1s",
        scrape_timeout="2s",
    )


def prometheus_config(t: Targets, rule_files: list[Path], token_file: Path) -> dict[str, Any]:
    """The edge host's configuration (``host_monitoring.prometheus_config_for``: the job, the
    target's labels, the scrape's path and bearer token file) at the laptop's site."""
    return dict(prometheus_config_for(NODE_NAME, LIVE, prometheus_site(t, rule_files, token_file)))


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
    """Prometheus and Alertmanager for the laptop: ``rules`` is the content of the deployed
    rules file as loaded (the stack reads it once, for its subscriptions too), compressed into
    the run directory by ``write_configs``."""

    def __init__(self, workdir: Path, targets: Targets, rules: Mapping[str, Any]):
        self.dir = workdir
        self.t = targets
        self.rules = rules
        self.prometheus: Daemon | None = None
        self.alertmanager: Daemon | None = None

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.t.prometheus_port}"

    @property
    def alertmanager_url(self) -> str:
        return f"http://127.0.0.1:{self.t.alertmanager_port}"

    def write_configs(self) -> tuple[Path, Path]:
        """The compressed rules, the node's token (only the owner reads it), Prometheus' and
        Alertmanager's configurations, into the run directory: their two paths."""
        self.dir.mkdir(parents=True, exist_ok=True)
        rules = compressed_rules.write(
            compressed_rules.compress(self.rules), self.dir / "rules.compressed.yml"
        )
        token = self.dir / "api-token"
        token.touch(mode=0o600)
        token.chmod(0o600)
        token.write_text(self.t.node_token)
        prom_cfg = self.dir / "prometheus.yml"
        prom_cfg.write_text(json.dumps(prometheus_config(self.t, [rules], token)))
        am_cfg = write_alertmanager_config(
            alertmanager_config(self.t.topics, self.t.aws_endpoint), self.dir
        )
        return prom_cfg, am_cfg

    def start(self) -> None:
        prom_bin, am_bin = find_tool(PROMETHEUS_NAMES), find_tool(ALERTMANAGER_NAMES)
        prom_cfg, am_cfg = self.write_configs()
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
