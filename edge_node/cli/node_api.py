"""The CLI's client of the running node's own HTTP API.

It never goes through a proxy from the environment (HTTP_PROXY, ...): the requests carry the
API's bearer token and are meant for the node on this host or its network, not for whoever
runs the proxy. Answers are read up to a bound, and a wait is bounded too.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from shared.config import NodeConfig

TIMEOUT_S = 5
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # /health and 1,000 trades are a few hundred KiB

# No ProxyHandler reading the environment: an empty mapping means "connect directly".
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiUnreachable(OSError):
    """The node's API did not answer as the node's API."""


def local_base_url(cfg: NodeConfig) -> str:
    host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
    return f"http://{host}:{cfg.api.port}"


def api_get(cfg: NodeConfig, path: str, auth: bool = True) -> tuple[int, Any]:
    return api_call(cfg, "GET", path, None, auth)


def _read(resp: Any) -> bytes:
    raw: bytes = resp.read(MAX_ANSWER_BYTES + 1)
    if len(raw) > MAX_ANSWER_BYTES:
        raise ApiUnreachable(f"answer over {MAX_ANSWER_BYTES} bytes: not the node's API")
    return raw


def _send(req: urllib.request.Request) -> tuple[int, Any]:
    try:
        with _OPENER.open(req, timeout=TIMEOUT_S) as resp:
            return resp.status, json.loads(_read(resp))
    except urllib.error.HTTPError as err:
        raw = _read(err)
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"error": raw.decode(errors="replace")}
    except ApiUnreachable:
        raise
    except (OSError, http.client.HTTPException, ValueError) as err:
        # Refused, timed out, or something that is not the node's API answering on its port:
        # the callers fall back to the flags (an emergency stop must not crash here).
        raise ApiUnreachable(f"{type(err).__name__}: {err}") from None


def api_call(
    cfg: NodeConfig, method: str, path: str, body: Any = None, auth: bool = True
) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body); ApiUnreachable if nothing answers as the node's API."""
    data = json.dumps(body).encode() if body is not None else None
    url = f"{local_base_url(cfg)}{path}"
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    token = cli_token(cfg) if auth else None
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    return _send(req)


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


def healthz(url: str) -> tuple[int, Any]:
    """(HTTP status, body) of ``GET {url}/healthz``; OSError if nothing answers as the API."""
    req = urllib.request.Request(f"{url.rstrip('/')}/healthz")  # noqa: S310 (the operator's URL)
    code, body = _send(req)
    if code != 200 or not isinstance(body, dict):
        return code, {"status": "not ok"}
    return code, body
