"""The RPC endpoints JSON, read one way wherever it is read: by the stack at ``pulumi up`` (the
``rpcEndpoints`` config secret, infra/settings.py) and by the probe at run time (that secret, or
``EDGE_OPS_RPC_ENDPOINTS`` on a laptop; functions/probe/wiring.py). What one accepts the other
accepts, so a secret that deploys is one the probe can read.

Two shapes:

- the node's, ``[{"name", "http_url", "ws_url"}]``: what the stack stores (the edge host's boot
  script writes each entry as an ``[[endpoints]]`` table of the node's config), so the stack
  accepts only this one, with at least one endpoint;
- ``{"name": "http_url"}``, shorter, for a person's laptop.

Every endpoint has a name, a JSON string of 1-64 letters, digits, ``_ . -`` (the probe's
``Endpoint`` dimension and the stack's alarm names), and an ``http_url`` (the probe asks each
endpoint for its head over HTTP); a ``ws_url`` may be given too. URLs are checked as the node
checks them (``shared.config.fields.check_url``). Errors name the entry and the key, and never
quote a URL: provider URLs carry API keys. Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.config.fields import check_url

# A name shown in metrics and alarms: an endpoint's, and the node's own (EDGE_OPS_NODE_NAME,
# the stack's nodeName).
NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
NAME_RULE = "1-64 letters, digits, _ . -"
NODE_KEYS = ("name", "http_url", "ws_url")  # the node's EndpointConfig, which refuses others
_NAME = re.compile(NAME_PATTERN)
_KEY = re.compile(r"[A-Za-z_]{1,32}")
_NODE_SHAPE = '[{"name", "http_url", "ws_url"}]'


class BadRpcEndpoints(ValueError):
    """The RPC endpoints JSON is unusable: fix the entry or key the message names, then run
    again. The message never quotes a URL."""


@dataclass(frozen=True, slots=True)
class RpcEndpoint:
    name: str
    http_url: str
    ws_url: str | None = None


def parse(raw: str) -> tuple[RpcEndpoint, ...]:
    """The endpoints in the JSON text ``raw``, in either shape (see ``check``)."""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        raise BadRpcEndpoints(
            f'is not JSON (expected {_NODE_SHAPE} or {{"name": "https://..."}})'
        ) from None
    return check(value)


def check(value: Any, *, node_shape: bool = False) -> tuple[RpcEndpoint, ...]:
    """The endpoints in the decoded JSON ``value``, in their order. ``node_shape``: only the
    node's list shape, with at least one endpoint (what the stack stores for the host)."""
    if isinstance(value, list):
        if node_shape and not value:
            raise BadRpcEndpoints(f"lists no endpoint: give at least one, {_NODE_SHAPE}")
        return _unique([_entry(i, item) for i, item in enumerate(value)])
    if node_shape:
        raise BadRpcEndpoints(f"must be a JSON list of endpoints, {_NODE_SHAPE}")
    if isinstance(value, dict):
        return _unique(
            [_endpoint(_name(i, n), {"http_url": url}) for i, (n, url) in enumerate(value.items())]
        )
    raise BadRpcEndpoints(
        f'must be a JSON list {_NODE_SHAPE} or an object {{"name": "https://..."}}'
    )


def _entry(i: int, item: Any) -> RpcEndpoint:
    if not isinstance(item, dict):
        raise BadRpcEndpoints(f"entry {i} is not an object {{name, http_url, ws_url}}")
    name = _name(i, item.get("name"))
    unknown = sorted(str(k) for k in item if k not in NODE_KEYS)
    if unknown:
        # a key is quoted only when it looks like one: a URL pasted as a key holds its API key
        shown = [k for k in unknown if _KEY.fullmatch(k)]
        hidden = len(unknown) - len(shown)
        named = ", ".join([*shown, *([f"{hidden} more not shown"] if hidden else [])])
        raise BadRpcEndpoints(
            f"endpoint {name!r} has unknown key(s) {named} (an endpoint has {', '.join(NODE_KEYS)})"
        )
    return _endpoint(name, item)


def _name(i: int, name: Any) -> str:
    if name is None:
        raise BadRpcEndpoints(f"entry {i} needs a name of {NAME_RULE}")
    if not isinstance(name, str):
        raise BadRpcEndpoints(
            f"entry {i}: name must be a JSON string of {NAME_RULE}, not a JSON {_kind(name)}"
        )
    if not _NAME.fullmatch(name):  # not quoted: a misplaced URL would show its key
        raise BadRpcEndpoints(f"entry {i}: name must be {NAME_RULE}")
    return name


def _endpoint(name: str, urls: dict[str, Any]) -> RpcEndpoint:
    http_url = urls.get("http_url")
    if http_url is None:
        raise BadRpcEndpoints(
            f"endpoint {name!r} needs an http_url (the probe asks each endpoint for its head "
            "over HTTP)"
        )
    ws_url = urls.get("ws_url")
    return RpcEndpoint(
        name=name,
        http_url=_url(name, "http_url", http_url, ("http", "https")),
        ws_url=None if ws_url is None else _url(name, "ws_url", ws_url, ("ws", "wss")),
    )


def _url(name: str, key: str, url: Any, schemes: tuple[str, ...]) -> str:
    if not isinstance(url, str):
        raise BadRpcEndpoints(f"endpoint {name!r}: {key} must be a string, not a JSON {_kind(url)}")
    try:
        return check_url(url, schemes)
    except ValueError as err:  # check_url's messages never quote the URL
        raise BadRpcEndpoints(f"endpoint {name!r}: {key} {err}") from None


def _unique(endpoints: Sequence[RpcEndpoint]) -> tuple[RpcEndpoint, ...]:
    seen: set[str] = set()
    for e in endpoints:
        if e.name in seen:
            raise BadRpcEndpoints(f"endpoint {e.name!r} is named twice")
        seen.add(e.name)
    return tuple(endpoints)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "list" if isinstance(value, list) else "string"
