"""The stack's configuration (Pulumi.<stack>.yaml; every key documented in
Pulumi.example.yaml), read and checked in one place. A bad or missing key stops the program
with one line naming it (``BadStackConfig``, a clean exit, no traceback)."""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from infra import catalog
from infra.host_boot import BadHostConfig, Release
from infra.host_monitoring import BadMonitoringRelease, MonitoringRelease, Tarball
from shared.rpc_endpoints import NAME_PATTERN, NAME_RULE
from shared.rpc_endpoints import check as check_endpoints

NAMESPACE = "edge-node"  # Pulumi.yaml's project name: `pulumi config set edge-node:...`
LOG_RETENTIONS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1827, 3653)


class BadStackConfig(pulumi.RunError):
    """A stack setting is missing or wrong: set it as the message says, then run again."""


@dataclass(frozen=True)
class DatabaseSettings:
    instance_class: str = "db.t4g.small"
    engine_version: str = "16"
    allocated_storage_gb: int = 20
    max_allocated_storage_gb: int = 100
    backup_retention_days: int = 14
    multi_az: bool = False


@dataclass(frozen=True)
class AlertEmail:
    """The fan-out's e-mail channel (low severity, reports): SES, from a verified identity."""

    sender: str  # EDGE_OPS_ALERT_EMAIL_FROM
    recipients: tuple[str, ...]  # EDGE_OPS_ALERT_EMAIL_TO
    identity_arn: str  # the SES identity the sender belongs to (ses:SendEmail is granted on it)


@dataclass(frozen=True)
class StackSettings:
    region: str
    admin_cidr: str
    release: Release
    monitoring: MonitoringRelease
    node_config_text: str
    rpc_endpoints: pulumi.Output[str]
    rpc_endpoint_names: tuple[str, ...]  # not secret: the probe's Endpoint dimension
    rpc_endpoint_websockets: tuple[bool, ...]  # which of them have a ws_url (not secret)
    alert_channels: pulumi.Output[str]
    alert_email: AlertEmail | None
    node_name: str
    api_port: int
    live: bool
    vpc_cidr: str
    availability_zones: list[str] | None
    nat_gateway: bool
    instance_type: str
    ami_id: str | None
    volume_gb: int
    database: DatabaseSettings
    log_retention_days: int
    fallback_email: str | None
    artifacts_dir: Path


def _secret(config: pulumi.Config, key: str, check: Any) -> tuple[pulumi.Output[str], Any]:
    """The secret as an output, and what ``check`` returns for it (checked now, at preview:
    a bad value is refused before anything is created; the value itself is never quoted)."""
    full = f"{NAMESPACE}:{key}"
    plain = pulumi.runtime.get_config(full)  # the decrypted text, read without a warning
    if plain is not None and not pulumi.runtime.is_config_secret(full):
        raise BadStackConfig(
            f"{full} is stored in plain text: set it again with `pulumi config set --secret`"
        )
    value = config.get_secret(key)
    if value is None or plain is None:
        raise BadStackConfig(f"{full} is not set: pulumi config set --secret {key} '<json>'")
    try:
        checked = check(json.loads(str(plain)))
    except (ValueError, TypeError) as err:
        raise BadStackConfig(f"{full}: {err}") from None
    return value, checked


_NAME = re.compile(NAME_PATTERN)


def _endpoints(value: Any) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """The endpoints' names (the probe's Endpoint dimension, one alarm each) and which have a
    ws_url (the node's websocket mode needs one). The secret is read as the probe reads it
    (shared/rpc_endpoints.py), in the node's shape only: the host's boot script writes each
    entry as an ``[[endpoints]]`` table."""
    endpoints = check_endpoints(value, node_shape=True)
    return tuple(e.name for e in endpoints), tuple(e.ws_url is not None for e in endpoints)


def _alert_email(value: Any) -> AlertEmail | None:
    if value is None:
        return None
    full = f"{NAMESPACE}:alertEmail"
    if not isinstance(value, dict):
        raise BadStackConfig(f"{full} must be an object {{from, to, identityArn}}")
    sender, to, identity = value.get("from"), value.get("to"), value.get("identityArn")
    if not isinstance(sender, str) or not re.fullmatch(r"[^@\s]+@[^@\s]+", sender):
        raise BadStackConfig(f"{full}.from must be an e-mail address")
    recipients = tuple(to) if isinstance(to, list) else (to,) if isinstance(to, str) else ()
    if not recipients or not all(isinstance(r, str) and "@" in r for r in recipients):
        raise BadStackConfig(f"{full}.to must be an address or a list of addresses")
    if not isinstance(identity, str) or not re.match(
        r"^arn:aws[a-z-]*:ses:[^:]+:\d{12}:identity/", identity
    ):
        raise BadStackConfig(f"{full}.identityArn must be the SES identity's ARN")
    return AlertEmail(sender, recipients, identity)


def _channels(value: Any) -> None:
    needed = {"slack_webhook_url", "pagerduty_routing_key", "telegram_bot_token",
              "telegram_chat_id"}  # fmt: skip
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    missing = sorted(needed - set(value))
    if missing:
        raise ValueError(f"lacks {', '.join(missing)} (functions/fanout/wiring.py)")


def _monitoring(value: Any) -> MonitoringRelease:
    shape = "{prometheus: {url, sha256}, alertmanager: {url, sha256}}"
    if not isinstance(value, dict):
        raise BadStackConfig(
            f"{NAMESPACE}:monitoring is not set: the edge host's Prometheus and Alertmanager "
            f"releases, {shape} (see Pulumi.example.yaml)"
        )
    tools = []
    for tool in ("prometheus", "alertmanager"):
        entry = value.get(tool)
        if not isinstance(entry, dict):
            raise BadStackConfig(f"{NAMESPACE}:monitoring.{tool} must be an object {{url, sha256}}")
        try:
            tools.append(Tarball(tool, str(entry.get("url", "")), str(entry.get("sha256", ""))))
        except BadMonitoringRelease as err:
            raise BadStackConfig(f"{NAMESPACE}:{err}") from None
    return MonitoringRelease(*tools)


def read(config: pulumi.Config, aws_config: pulumi.Config, root: Path) -> StackSettings:
    def need(key: str) -> str:
        value = config.get(key)
        if not value:
            raise BadStackConfig(f"{NAMESPACE}:{key} is not set (see Pulumi.example.yaml)")
        return value

    region = aws_config.get("region")
    if not region:
        raise BadStackConfig("aws:region is not set: pulumi config set aws:region eu-west-1")
    admin = need("adminCidr")
    try:
        net = ipaddress.ip_network(admin)
    except ValueError:
        raise BadStackConfig(f"{NAMESPACE}:adminCidr {admin!r} is not a CIDR") from None
    if net.num_addresses > 256:
        raise BadStackConfig(
            f"{NAMESPACE}:adminCidr {admin}: the API would be open to {net.num_addresses} "
            "addresses; give the admins' own range (at most a /24)"
        )
    release_obj = config.get_object("release") or {}
    if not isinstance(release_obj, dict):
        raise BadStackConfig(f"{NAMESPACE}:release must be an object {{wheelUrl, sha256}}")
    try:
        release = Release(str(release_obj.get("wheelUrl", "")), str(release_obj.get("sha256", "")))
    except BadHostConfig as err:
        raise BadStackConfig(f"{NAMESPACE}:{err}") from None
    monitoring = _monitoring(config.get_object("monitoring"))
    node_path = root / need("nodeConfig")
    try:
        node_text = node_path.read_text(encoding="utf-8")
    except OSError as err:
        raise BadStackConfig(f"{NAMESPACE}:nodeConfig: cannot read {node_path}: {err}") from None
    retention = config.get_int("logRetentionDays") or catalog.LOG_RETENTION_DAYS
    if retention not in LOG_RETENTIONS:
        raise BadStackConfig(f"{NAMESPACE}:logRetentionDays must be one of {LOG_RETENTIONS}")
    db = config.get_object("database") or {}
    azs = config.get_object("availabilityZones")
    rpc_endpoints, (rpc_names, rpc_websockets) = _secret(config, "rpcEndpoints", _endpoints)
    alert_channels, _ = _secret(config, "alertChannels", _channels)
    node_name = config.get("nodeName") or "edge"
    if not _NAME.fullmatch(node_name):
        raise BadStackConfig(f"{NAMESPACE}:nodeName must be {NAME_RULE}")
    port = config.get_int("apiPort") or 8080
    if not 1024 <= port <= 65535:
        raise BadStackConfig(f"{NAMESPACE}:apiPort must be 1024-65535")
    return StackSettings(
        region=region,
        admin_cidr=str(net),
        release=release,
        monitoring=monitoring,
        node_config_text=node_text,
        rpc_endpoints=rpc_endpoints,
        rpc_endpoint_names=rpc_names,
        rpc_endpoint_websockets=rpc_websockets,
        alert_channels=alert_channels,
        alert_email=_alert_email(config.get_object("alertEmail")),
        node_name=node_name,
        api_port=port,
        live=bool(config.get_bool("live")),
        vpc_cidr=config.get("vpcCidr") or "10.60.0.0/16",
        availability_zones=[str(z) for z in azs] if isinstance(azs, list) else None,
        nat_gateway=config.get_bool("natGateway") is not False,
        instance_type=config.get("instanceType") or "t3.small",
        ami_id=config.get("amiId"),
        volume_gb=config.get_int("volumeGb") or 30,
        database=DatabaseSettings(
            instance_class=str(db.get("instanceClass", "db.t4g.small")),
            engine_version=str(db.get("engineVersion", "16")),
            allocated_storage_gb=int(db.get("allocatedStorageGb", 20)),
            max_allocated_storage_gb=int(db.get("maxAllocatedStorageGb", 100)),
            backup_retention_days=int(db.get("backupRetentionDays", 14)),
            multi_az=bool(db.get("multiAz", False)),
        ),
        log_retention_days=retention,
        fallback_email=config.get("fallbackEmail"),
        artifacts_dir=root / (config.get("artifactsDir") or "dist/functions"),
    )
