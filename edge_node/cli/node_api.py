"""The CLI's client of the running node's own HTTP API."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from typing import Any

from shared.config import NodeConfig


class ApiUnreachable(OSError):
    """The node's API did not answer as the node's API."""


def local_base_url(cfg: NodeConfig) -> str:
    host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
    return f"http://{host}:{cfg.api.port}"


def api_get(cfg: NodeConfig, path: str, auth: bool = True) -> tuple[int, Any]:
    return api_call(cfg, "GET", path, None, auth)


def api_call(
    cfg: NodeConfig, method: str, path: str, body: Any = None, auth: bool = True
) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body); ApiUnreachable if nothing answers as the node's API."""
    data = json.dumps(body).encode() if body is not None else None
    url = f"{local_base_url(cfg)}{path}"
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    token = cfg.api_token()
    if auth and token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        try:
            return err.code, json.loads(raw)
        except ValueError:
            return err.code, {"error": raw.decode(errors="replace")}
    except (OSError, http.client.HTTPException, ValueError) as err:
        # Refused, timed out, or something that is not the node's API answering on its port:
        # the callers fall back to the flags (an emergency stop must not crash here).
        raise ApiUnreachable(f"{type(err).__name__}: {err}") from None


def healthz(url: str) -> tuple[int, Any]:
    """(HTTP status, body) of ``GET {url}/healthz``; OSError if nothing answers."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz", timeout=5) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, {"status": "not ok"}
