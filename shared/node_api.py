"""The client of a running node's own HTTP API, for the node's CLI and the runbook functions.

It never goes through a proxy from the environment (HTTP_PROXY, ...): the requests carry the
API's bearer token and are meant for the node on this host or its network, not for whoever
runs the proxy. Every call has a timeout and answers are read up to a bound.
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 5.0
MAX_ANSWER_BYTES = 8 * 1024 * 1024  # /health and 1,000 trades are a few hundred KiB

# No ProxyHandler reading the environment: an empty mapping means "connect directly".
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ApiUnreachable(OSError):
    """The node's API did not answer as the node's API: fall back to the flags."""


def _read(resp: Any) -> bytes:
    raw: bytes = resp.read(MAX_ANSWER_BYTES + 1)
    if len(raw) > MAX_ANSWER_BYTES:
        raise ApiUnreachable(f"answer over {MAX_ANSWER_BYTES} bytes: not the node's API")
    return raw


def send(req: urllib.request.Request, timeout: float = TIMEOUT_S) -> tuple[int, Any]:
    """(HTTP status, decoded JSON body); ``ApiUnreachable`` if nothing answers as the API."""
    try:
        with _OPENER.open(req, timeout=timeout) as resp:
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


@dataclass(frozen=True, slots=True)
class NodeApi:
    """One node's API: its base URL (``http://host:port``) and bearer token."""

    base_url: str
    token: str | None
    timeout_s: float = TIMEOUT_S

    def call(
        self, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        url = f"{self.base_url.rstrip('/')}{path}"
        req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http only)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth and self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        return send(req, self.timeout_s)

    def admin(self, action: str, reason: str, actor: str | None = None) -> tuple[int, Any]:
        """``POST /admin/{pause,resume,emergency-stop}``; the node audits it under ``actor``."""
        body: dict[str, str] = {"reason": reason}
        if actor:
            body["actor"] = actor
        return self.call("POST", f"/admin/{action}", body)

    def health(self) -> tuple[int, Any]:
        return self.call("GET", "/health")

    def healthz(self) -> tuple[int, Any]:
        return healthz(self.base_url, self.timeout_s)


def healthz(url: str, timeout: float = TIMEOUT_S) -> tuple[int, Any]:
    """(HTTP status, body) of ``GET {url}/healthz``; ``ApiUnreachable`` if nothing answers."""
    req = urllib.request.Request(f"{url.rstrip('/')}/healthz")  # noqa: S310 (the operator's URL)
    code, body = send(req, timeout)
    if code != 200 or not isinstance(body, dict):
        return code, {"status": "not ok"}
    return code, body
