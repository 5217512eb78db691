"""What the edge host boots with: the node's config template and the user data. Pure: text in,
text out, tested without Pulumi.

At boot (cloud-init, Amazon Linux 2023) the user data installs a pinned release of the project
(a wheel at a URL, checked against its SHA-256 before pip sees it) into a virtualenv, writes
the systemd unit and the CloudWatch agent's config, and starts both. Before each start of the
node, ``prepare.py`` (run by systemd as the node's user) reads the secrets and the config
template and writes, into the unit's private runtime directory (tmpfs, mode 0700):
``env`` and ``node.toml`` (the template plus the ``[[endpoints]]`` from the RPC secret).
The API token and the database login are not copied there: ``env`` names their secrets
(``EDGE_API_TOKEN_SECRET_ID``, ``EDGE_DATABASE_SECRET_ID``) and the node reads them itself and
reads them again as they rotate (the previous token in its grace period, a refused login at
once), so a rotation needs no restart. Nothing secret is in the user data or on the disk.
"""

from __future__ import annotations

import base64
import gzip
import math
import re
import textwrap
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tomli_w

from infra import catalog
from infra.host_monitoring import HostMonitoring
from infra.host_monitoring import script as monitoring_script
from shared.config import ControlConfig

# After SIGTERM the node drains in-flight trades for up to control.drain_timeout_s, then
# flushes the store and closes; systemd must not SIGKILL it before that is over.
STOP_MARGIN_S = 30
CONFIG_PATH = "/run/edge-node/node.toml"
LOG_PATH = "/var/log/edge-node/node.log"
USER_DATA_LIMIT = 16 * 1024  # EC2's limit on user data (before base64)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_WHEEL = re.compile(r"^https://[^\s'\"]+/(edge_node-[0-9][^/\s'\"]*-py3-none-any\.whl)$")


class BadHostConfig(ValueError):
    """The stack's host configuration cannot make a working host: fix the named setting."""


@dataclass(frozen=True)
class Release:
    """A pinned release: the wheel's https URL and its SHA-256."""

    wheel_url: str
    sha256: str

    def __post_init__(self) -> None:
        if not _WHEEL.fullmatch(self.wheel_url):
            raise BadHostConfig(
                f"release.wheelUrl {self.wheel_url!r}: must be an https URL ending in "
                "edge_node-<version>-py3-none-any.whl"
            )
        if not _SHA256.fullmatch(self.sha256):
            raise BadHostConfig("release.sha256: must be 64 lower-case hex characters")

    @property
    def filename(self) -> str:
        m = _WHEEL.fullmatch(self.wheel_url)
        assert m is not None  # checked in __post_init__
        return m.group(1)


def drain_timeout_s(template: dict[str, Any]) -> float:
    """The node's drain timeout: the template's, or the node's default."""
    control = template.get("control", {})
    value = control.get("drain_timeout_s", ControlConfig.model_fields["drain_timeout_s"].default)
    if not isinstance(value, int | float) or value < 0:
        raise BadHostConfig("node config control.drain_timeout_s: must be a number >= 0")
    return float(value)


def stop_timeout_s(drain_s: float) -> int:
    """systemd's TimeoutStopSec: longer than the drain, with room to flush and close."""
    return math.ceil(drain_s) + STOP_MARGIN_S


def node_config(
    template_text: str,
    *,
    ssm_parameter: str,
    region: str,
    api_port: int,
    endpoints: Sequence[tuple[str, bool]],
) -> tuple[str, float]:
    """The config template stored for the host, and the node's drain timeout.

    The operator's TOML minus anything the stack decides: the API listens on every interface
    (the security group decides who reaches it) on the stack's port, the emergency-stop flag is
    the stack's SSM parameter, and endpoints come from the RPC secret at boot (so the template
    must not carry them: their URLs hold keys). ``endpoints``: the secret's (name, has a
    ws_url), for checking the template as the node will read it.
    """
    try:
        data = tomllib.loads(template_text)
    except tomllib.TOMLDecodeError as err:
        raise BadHostConfig(f"nodeConfig: not valid TOML: {err}") from None
    for section in ("api", "control", "secrets", "alerts"):
        if not isinstance(data.get(section, {}), dict):
            raise BadHostConfig(f"nodeConfig: {section} must be a table ([{section}])")
    if "endpoints" in data:
        raise BadHostConfig(
            "nodeConfig: remove [[endpoints]]; their URLs carry keys and belong in the "
            "rpcEndpoints config secret"
        )
    if data.get("api", {}).get("token") is not None:
        raise BadHostConfig("nodeConfig: remove api.token; the stack generates the token")
    drain = drain_timeout_s(data)
    data.setdefault("api", {}).update({"host": "0.0.0.0", "port": api_port})  # noqa: S104
    data.setdefault("control", {}).update({"ssm_parameter": ssm_parameter, "aws_region": region})
    data.setdefault("secrets", {})["region"] = region  # the token and login secrets' region
    _as_the_node_reads_it(data, region, endpoints)
    return tomli_w.dumps(data), drain


def _as_the_node_reads_it(
    data: dict[str, Any], region: str, endpoints: Sequence[tuple[str, bool]]
) -> None:
    """Refuse at deploy what the node would refuse at boot (a boot loop on the host): the
    template as ``prepare.py`` completes it, with the secret's endpoints (URLs standing in for
    theirs: a ws_url where theirs has one) and the secrets' names."""
    from shared.config import ConfigError, parse_config

    stand_ins = [
        {"name": name, "http_url": "https://rpc.invalid"}
        | ({"ws_url": "wss://rpc.invalid"} if websocket else {})
        for name, websocket in endpoints
    ]
    arn = f"arn:aws:secretsmanager:{region}:000000000000:secret:deploy-check"
    # the stack writes the node's alert topic (with_alerts_topic): an operator's is replaced
    alerts = {**data.get("alerts", {}), "sns_topic_arn": f"arn:aws:sns:{region}:000000000000:x"}
    try:
        parse_config(
            {**data, "endpoints": stand_ins, "alerts": alerts},
            "nodeConfig",
            env={"EDGE_API_TOKEN_SECRET_ID": arn, "EDGE_DATABASE_SECRET_ID": arn},
        )
    except ConfigError as err:
        raise BadHostConfig(
            f"nodeConfig: the node would refuse it with the rpcEndpoints secret: "
            f"{'; '.join(err.problems)}"
        ) from None


def with_alerts_topic(template_text: str, topic_arn: str) -> str:
    """The stored template with the node's own events raised to ``topic_arn``.

    The stack decides the topic (the alerting component's critical topic, which the host role
    alone may publish to), so an operator's ``alerts.sns_topic_arn`` is replaced, not kept: a
    topic the role cannot publish to would lose every event. ``alerts.queue_max`` is kept.
    """
    data = tomllib.loads(template_text)
    data.setdefault("alerts", {})["sns_topic_arn"] = topic_arn
    return tomli_w.dumps(data)


_PREPARE = '''\
"""Write the node's env and config from Secrets Manager and SSM (run by systemd)."""
import json, os, sys
import boto3

E = os.environ
REGION = E["AWS_REGION"]
sm = boto3.client("secretsmanager", region_name=REGION)
ssm = boto3.client("ssm", region_name=REGION)


def secret(arn):
    return sm.get_secret_value(SecretId=arn)["SecretString"]


def put(path, text):
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


if sys.argv[1:2] == ["--token-file"]:  # Prometheus' copy (infra/host_monitoring.py)
    put(sys.argv[2], secret(E["EDGE_TOKEN_SECRET"]).strip())
    sys.exit(0)
endpoints = json.loads(secret(E["EDGE_RPC_SECRET"]))
if not isinstance(endpoints, list) or not endpoints:
    sys.exit("prepare: the RPC secret must be a JSON list of endpoints")
template = ssm.get_parameter(Name=E["EDGE_CONFIG_PARAMETER"])["Parameter"]["Value"]
tables = []
for ep in endpoints:
    lines = ["[[endpoints]]"]
    for k in ("name", "ws_url", "http_url"):
        if ep.get(k):
            lines.append("%s = %s" % (k, json.dumps(str(ep[k]))))  # a TOML basic string
    tables.append("\\n".join(lines))
run = E["RUNTIME_DIRECTORY"]
put(os.path.join(run, "node.toml"), template + "\\n" + "\\n\\n".join(tables) + "\\n")
# the node reads (and re-reads, as they rotate) the token and the login itself
put(os.path.join(run, "env"), "EDGE_API_TOKEN_SECRET_ID=%s\\nEDGE_DATABASE_SECRET_ID=%s\\n" % (
    E["EDGE_TOKEN_SECRET"], E["EDGE_DB_SECRET"]))
'''


@dataclass(frozen=True)
class Boot:
    release: Release
    region: str
    stop_timeout_s: int
    config_parameter: str
    token_secret_arn: str
    db_secret_arn: str
    rpc_secret_arn: str
    log_group: str
    live: bool = False
    monitoring: HostMonitoring | None = None  # Prometheus and Alertmanager beside the node


def unit(boot: Boot) -> str:
    live = " --live" if boot.live else ""
    return textwrap.dedent(
        f"""\
        [Unit]
        Description=edge-node (on-chain trading node)
        Wants=network-online.target
        After=network-online.target

        [Service]
        User=edge-node
        Group=edge-node
        Environment=AWS_REGION={boot.region}
        Environment=PGSSLMODE={catalog.PGSSLMODE}
        Environment=EDGE_TOKEN_SECRET={boot.token_secret_arn}
        Environment=EDGE_DB_SECRET={boot.db_secret_arn}
        Environment=EDGE_RPC_SECRET={boot.rpc_secret_arn}
        Environment=EDGE_CONFIG_PARAMETER={boot.config_parameter}
        RuntimeDirectory=edge-node
        RuntimeDirectoryMode=0700
        WorkingDirectory=/var/lib/edge-node
        ExecStartPre=/opt/edge-node/venv/bin/python /opt/edge-node/prepare.py
        EnvironmentFile=-/run/edge-node/env
        ExecStart=/opt/edge-node/venv/bin/edge-node run --config {CONFIG_PATH}{live}
        ExecReload=/bin/kill -HUP $MAINPID
        KillSignal=SIGTERM
        TimeoutStopSec={boot.stop_timeout_s}
        Restart=always
        RestartSec=5
        StartLimitIntervalSec=0
        StandardOutput=append:{LOG_PATH}
        StandardError=inherit
        NoNewPrivileges=yes
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes
        ReadWritePaths=/var/lib/edge-node /var/log/edge-node

        [Install]
        WantedBy=multi-user.target
        """
    )


def agent_config(boot: Boot) -> str:
    import json

    return json.dumps(
        {
            "agent": {"metrics_collection_interval": 60, "run_as_user": "cwagent"},
            "metrics": {
                "namespace": catalog.HOST_NAMESPACE,
                "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
                "aggregation_dimensions": [["InstanceId"]],
                "metrics_collected": {
                    "mem": {"measurement": ["mem_used_percent"]},
                    "disk": {"measurement": ["used_percent"], "resources": ["/"]},
                },
            },
            "logs": {
                "logs_collected": {
                    "files": {
                        "collect_list": [
                            {
                                "file_path": LOG_PATH,
                                "log_group_name": boot.log_group,
                                "log_stream_name": "{instance_id}/node",
                                "timezone": "UTC",
                            }
                        ]
                    }
                }
            },
        },
        indent=1,
        sort_keys=True,
    )


def user_data(boot: Boot) -> str:
    """The boot script, as text: ``packed`` compresses it (once) and checks EC2's limit."""
    r = boot.release
    script = textwrap.dedent(
        f"""\
        #!/bin/bash
        # edge-node host: install release {r.filename}, run it under systemd, ship its logs.
        set -euo pipefail
        dnf install -y python3.12 amazon-cloudwatch-agent logrotate
        id edge-node >/dev/null 2>&1 || useradd --system --create-home \\
          --home-dir /var/lib/edge-node --shell /sbin/nologin edge-node
        install -d -o edge-node -g edge-node -m 0750 /var/lib/edge-node /var/log/edge-node
        install -d -m 0755 /opt/edge-node
        curl -fsSL --proto '=https' --retry 5 -o /opt/edge-node/{r.filename} '{r.wheel_url}'
        echo '{r.sha256}  /opt/edge-node/{r.filename}' | sha256sum --check --strict
        python3.12 -m venv /opt/edge-node/venv
        /opt/edge-node/venv/bin/pip install --no-cache-dir --disable-pip-version-check \\
          /opt/edge-node/{r.filename}
        cat > /opt/edge-node/prepare.py <<'PREPARE'
        @@PREPARE@@PREPARE
        cat > /etc/systemd/system/edge-node.service <<'UNIT'
        @@UNIT@@UNIT
        cat > /etc/logrotate.d/edge-node <<'ROTATE'
        {LOG_PATH} {{
          daily
          rotate 7
          compress
          missingok
          copytruncate
        }}
        ROTATE
        cat > /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json <<'AGENT'
        @@AGENT@@AGENT
        /opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config \\
          -m ec2 -s -c file:/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json
        @@MONITORING@@systemctl daemon-reload
        systemctl enable --now edge-node.service
        """
    )
    return (
        script.replace("@@PREPARE@@", _PREPARE)
        .replace("@@UNIT@@", unit(boot))
        .replace("@@AGENT@@", agent_config(boot) + "\n")
        .replace("@@MONITORING@@", monitoring_script(boot.monitoring) if boot.monitoring else "")
    )


def packed(text: str) -> str:
    """The user data as EC2 is given it: gzipped once (cloud-init unpacks it), refused over
    EC2's limit, then base64."""
    data = gzip.compress(text.encode(), compresslevel=9, mtime=0)  # the same text, same bytes
    if len(data) > USER_DATA_LIMIT:
        raise BadHostConfig(f"user data is {len(data)} bytes compressed, over EC2's 16 KiB")
    return base64.b64encode(data).decode()
