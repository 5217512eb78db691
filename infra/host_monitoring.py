"""Prometheus and Alertmanager on the edge host: what the boot script adds for them. Pure.

- Both are upstream release tarballs pinned by the stack (``edge-node:monitoring``: the URL
  and its SHA-256, checked before anything is unpacked), because the host runs Amazon Linux,
  which packages neither. The versions must be at least those the rules and routes are
  tested with here (Debian 12's promtool 2.42 and amtool 0.25).
- Prometheus evaluates the rules shipped in the node's own release
  (shared/monitoring/rules.yml, linked into /etc/edge-monitoring), scraping the node's
  ``/prometheus`` on loopback with its API token, and sends to Alertmanager on loopback.
- Alertmanager publishes each alert to its severity's SNS topic with the instance role
  (infra/monitoring/alertmanager_sns.py); the fan-out and the runbooks read those topics.
- The token rotates (functions/rotation): a timer writes the current one every two minutes
  into a tmpfs directory only Prometheus reads, well inside the node's grace for the previous
  token, so a rotation never looks like the node being down.
- Both listen on 127.0.0.1 only, run as their own users, restart always; the boot fails
  loudly (set -e) if promtool or amtool refuses what was written.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from infra.monitoring import alertmanager_sns

ETC = "/etc/edge-monitoring"
TOKEN_DIR = "/run/edge-prometheus"  # noqa: S105 - a directory, not a secret
TOKEN_FILE = f"{TOKEN_DIR}/api-token"
PROMETHEUS_PORT = 9090
ALERTMANAGER_PORT = 9093
TOKEN_REFRESH = "2min"  # noqa: S105 - a period
TSDB_RETENTION = "15d"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The oldest versions the committed rules and routes are tested with (Debian 12's), and the
# first major versions nobody has tested them with.
MINIMUM = {"prometheus": (2, 42), "alertmanager": (0, 25)}
BELOW_MAJOR = {"prometheus": 4, "alertmanager": 1}


class BadMonitoringRelease(ValueError):
    """A pinned Prometheus or Alertmanager release the host cannot use: fix the named key."""


@dataclass(frozen=True)
class Tarball:
    """One upstream release: ``https://.../<tool>-<x.y.z>.linux-amd64.tar.gz`` and its SHA-256."""

    tool: str
    url: str
    sha256: str

    def __post_init__(self) -> None:
        key = f"monitoring.{self.tool}"
        m = re.fullmatch(
            rf"^https://[^\s'\"]+/({self.tool}-(\d+)\.(\d+)\.(\d+)\.linux-amd64)\.tar\.gz$",
            self.url,
        )
        if m is None:
            raise BadMonitoringRelease(
                f"{key}.url {self.url!r}: must be an https URL ending in "
                f"{self.tool}-<x.y.z>.linux-amd64.tar.gz (the host is x86_64)"
            )
        if not _SHA256.fullmatch(self.sha256):
            raise BadMonitoringRelease(f"{key}.sha256: must be 64 lower-case hex characters")
        version = (int(m.group(2)), int(m.group(3)))
        if version < MINIMUM[self.tool] or version[0] >= BELOW_MAJOR[self.tool]:
            low = ".".join(map(str, MINIMUM[self.tool]))
            raise BadMonitoringRelease(
                f"{key}: version {m.group(2)}.{m.group(3)}.{m.group(4)} is outside what the "
                f"rules are tested with (>= {low}, < {BELOW_MAJOR[self.tool]})"
            )

    @property
    def directory(self) -> str:
        """The tarball's top directory (``prometheus-2.53.4.linux-amd64``)."""
        return self.url.rsplit("/", 1)[1].removesuffix(".tar.gz")


@dataclass(frozen=True)
class MonitoringRelease:
    prometheus: Tarball
    alertmanager: Tarball


@dataclass(frozen=True)
class HostMonitoring:
    release: MonitoringRelease
    region: str
    api_port: int
    node_name: str
    live: bool
    token_secret_arn: str
    topics: Mapping[str, str]  # severity -> topic ARN (all four)


@dataclass(frozen=True)
class PrometheusSite:
    """Where a Prometheus runs the node's scrape and rules: the host's (``host_site``), or
    another machine's (the laptop's: its ports, paths and compressed timings). Everything else
    in the configuration (the job, the labels, the scrape's path and auth) is
    ``prometheus_config_for``'s, wherever it runs."""

    node: str  # host:port of the node's API
    alertmanager: str  # host:port
    rule_files: tuple[str, ...]
    token_file: str  # the node's API token, read at each scrape (it rotates)
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    scrape_timeout: str | None = None  # Prometheus' default (10s) when None


def host_site(api_port: int) -> PrometheusSite:
    return PrometheusSite(
        node=f"127.0.0.1:{api_port}",
        alertmanager=f"127.0.0.1:{ALERTMANAGER_PORT}",
        rule_files=(f"{ETC}/rules.yml",),
        token_file=TOKEN_FILE,
    )


def target_labels(node_name: str, live: bool) -> dict[str, str]:
    """The labels on the node's scrape target, so on every series and alert of it: the alert
    names the node, not a loopback address; PaperTradingViolation compares the node's mode
    with ``expected_mode``, what the stack says it must be."""
    return {"instance": node_name, "expected_mode": "live" if live else "paper"}


def prometheus_config_for(node_name: str, live: bool, site: PrometheusSite) -> dict[str, object]:
    timing = {"scrape_interval": site.scrape_interval}
    if site.scrape_timeout is not None:
        timing["scrape_timeout"] = site.scrape_timeout
    timing["evaluation_interval"] = site.evaluation_interval
    return {
        "global": timing,
        "rule_files": list(site.rule_files),
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [site.alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": "edge-node",  # the rules select job="edge-node"
                "metrics_path": "/prometheus",
                "authorization": {"type": "Bearer", "credentials_file": site.token_file},
                "static_configs": [
                    {"targets": [site.node], "labels": target_labels(node_name, live)}
                ],
            }
        ],
    }


def prometheus_config(m: HostMonitoring) -> dict[str, object]:
    """The edge host's."""
    return prometheus_config_for(m.node_name, m.live, host_site(m.api_port))


def _unit(description: str, user: str, body: str) -> str:
    return textwrap.dedent(
        f"""\
        [Unit]
        Description={description}
        Wants=network-online.target
        After=network-online.target

        [Service]
        User={user}
        Group={user}
        """
    ) + textwrap.dedent(body)


def units(m: HostMonitoring) -> dict[str, str]:
    """The systemd units by file name."""
    hardening = """\
        NoNewPrivileges=yes
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes
        """
    token_env = (
        f"Environment=AWS_REGION={m.region}\nEnvironment=EDGE_TOKEN_SECRET={m.token_secret_arn}\n"
    )
    write_token = (
        f"/opt/edge-node/venv/bin/python /opt/edge-node/prepare.py --token-file {TOKEN_FILE}"
    )
    prometheus = _unit(
        "Prometheus: the edge node's alerting rules",
        "prometheus",
        token_env
        + f"ExecStartPre={write_token}\n"
        + textwrap.dedent(
            f"""\
            ExecStart=/usr/local/bin/prometheus --config.file={ETC}/prometheus.yml \\
              --storage.tsdb.path=/var/lib/prometheus \\
              --storage.tsdb.retention.time={TSDB_RETENTION} \\
              --web.listen-address=127.0.0.1:{PROMETHEUS_PORT}
            ExecReload=/bin/kill -HUP $MAINPID
            Restart=always
            RestartSec=5
            ReadWritePaths=/var/lib/prometheus {TOKEN_DIR}
            """
        )
        + hardening
        + "\n[Install]\nWantedBy=multi-user.target\n",
    )
    alertmanager = _unit(
        "Alertmanager: the edge node's alerts to SNS",
        "alertmanager",
        f"Environment=AWS_REGION={m.region}\n"
        + textwrap.dedent(
            f"""\
            ExecStart=/usr/local/bin/alertmanager --config.file={ETC}/alertmanager.yml \\
              --storage.path=/var/lib/alertmanager \\
              --web.listen-address=127.0.0.1:{ALERTMANAGER_PORT} \\
              --cluster.listen-address=
            ExecReload=/bin/kill -HUP $MAINPID
            Restart=always
            RestartSec=5
            ReadWritePaths=/var/lib/alertmanager
            """
        )
        + hardening
        + "\n[Install]\nWantedBy=multi-user.target\n",
    )
    refresh = _unit(
        "Write the node's current API token for Prometheus (it rotates)",
        "prometheus",
        token_env
        + f"Type=oneshot\nExecStart={write_token}\nReadWritePaths={TOKEN_DIR}\n"
        + hardening,
    )
    timer = textwrap.dedent(
        f"""\
        [Unit]
        Description=Refresh Prometheus' copy of the node's API token

        [Timer]
        OnActiveSec={TOKEN_REFRESH}
        OnUnitActiveSec={TOKEN_REFRESH}

        [Install]
        WantedBy=timers.target
        """
    )
    return {
        "edge-prometheus.service": prometheus,
        "edge-alertmanager.service": alertmanager,
        "edge-prometheus-token.service": refresh,
        "edge-prometheus-token.timer": timer,
    }


def files(m: HostMonitoring) -> dict[str, str]:
    """The files written under ETC and /etc/systemd/system, by absolute path."""
    out = {
        f"{ETC}/prometheus.yml": yaml.safe_dump(prometheus_config(m), sort_keys=False),
        # the same text the committed example and the amtool tests are (only the topics differ)
        f"{ETC}/alertmanager.yml": alertmanager_sns.render(
            m.topics, m.region, f"{ETC}/{alertmanager_sns.TEMPLATE_NAME}"
        ),
        f"{ETC}/{alertmanager_sns.TEMPLATE_NAME}": alertmanager_sns.TEMPLATE,
        "/etc/tmpfiles.d/edge-prometheus.conf": f"d {TOKEN_DIR} 0700 prometheus prometheus -\n",
    }
    out.update({f"/etc/systemd/system/{name}": text for name, text in units(m).items()})
    return out


def _fetch(t: Tarball) -> str:
    path = f"/opt/edge-monitoring/{t.directory}.tar.gz"
    return textwrap.dedent(
        f"""\
        curl -fsSL --proto '=https' --retry 5 -o {path} '{t.url}'
        echo '{t.sha256}  {path}' | sha256sum --check --strict
        tar -xzf {path} -C /opt/edge-monitoring
        """
    )


def script(m: HostMonitoring) -> str:
    """The boot script's part for monitoring (bash, after the node's release is installed)."""
    p, a = m.release.prometheus, m.release.alertmanager
    lines = [
        "# Prometheus and Alertmanager: pinned releases, checked before they are unpacked",
        "install -d -m 0755 /opt/edge-monitoring " + ETC,
        _fetch(p).rstrip(),
        _fetch(a).rstrip(),
        f"install -m 0755 /opt/edge-monitoring/{p.directory}/prometheus "
        f"/opt/edge-monitoring/{p.directory}/promtool /usr/local/bin/",
        f"install -m 0755 /opt/edge-monitoring/{a.directory}/alertmanager "
        f"/opt/edge-monitoring/{a.directory}/amtool /usr/local/bin/",
        "for u in prometheus alertmanager; do",
        "  id $u >/dev/null 2>&1 || useradd --system --no-create-home --shell /sbin/nologin $u",
        "  install -d -o $u -g $u -m 0750 /var/lib/$u",
        "done",
        "# the rules of the node's own release (shared/monitoring/rules.yml)",
        f"ln -sf \"$(/opt/edge-node/venv/bin/python -c 'import shared.monitoring as m; "
        f"print(m.RULES)')\" {ETC}/rules.yml",
    ]
    for n, (path, text) in enumerate(sorted(files(m).items())):
        tag = f"MONITORING{n}"
        lines.append(f"cat > {path} <<'{tag}'\n{text.rstrip()}\n{tag}")
    lines += [
        "systemd-tmpfiles --create /etc/tmpfiles.d/edge-prometheus.conf",
        f"promtool check rules {ETC}/rules.yml",
        f"promtool check config --syntax-only {ETC}/prometheus.yml",
        f"amtool check-config {ETC}/alertmanager.yml",
        "systemctl daemon-reload",
        "systemctl enable --now edge-alertmanager.service edge-prometheus.service "
        "edge-prometheus-token.timer",
    ]
    return "\n".join(lines) + "\n"
