"""The CLI's client of the running node's own HTTP API: ``shared.node_api`` (the one client the
CLI and the runbook functions share), addressed from the node's configuration."""

from __future__ import annotations

from typing import Any

from shared.config import NodeConfig
from shared.node_api import MAX_ANSWER_BYTES, TIMEOUT_S, ApiUnreachable, NodeApi, healthz

__all__ = [
    "MAX_ANSWER_BYTES",
    "TIMEOUT_S",
    "ApiUnreachable",
    "api_call",
    "api_get",
    "cli_token",
    "healthz",
    "local_base_url",
    "node_api",
]


def local_base_url(cfg: NodeConfig) -> str:
    host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
    return f"http://{host}:{cfg.api.port}"


def node_api(cfg: NodeConfig) -> NodeApi:
    return NodeApi(local_base_url(cfg), cli_token(cfg))


def api_get(cfg: NodeConfig, path: str, auth: bool = True) -> tuple[int, Any]:
    return api_call(cfg, "GET", path, None, auth)


def api_call(
    cfg: NodeConfig, method: str, path: str, body: Any = None, auth: bool = True
) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body); ApiUnreachable if nothing answers as the node's API."""
    return node_api(cfg).call(method, path, body, auth=auth)


def cli_token(cfg: NodeConfig) -> str | None:
    """The token to call the API with: the config's, or the secret's current version."""
    if cfg.api.token_secret_id is None:
        return cfg.api_token()
    from shared.secret_versions import SecretUnreadable, read_versions, secrets_client

    try:
        client = secrets_client(cfg.secrets.region, cfg.secrets.timeout_s)
        return read_versions(client, cfg.api.token_secret_id).current.value
    except SecretUnreadable as err:
        raise ApiUnreachable(f"the API token could not be read: {err}") from None
