"""RPC errors, named for what the caller must do."""

from __future__ import annotations

import re
from typing import Any


class RpcError(Exception):
    """The node answered with a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None, method: str = "") -> None:
        self.code = code
        self.message = message
        self.data = data
        self.method = method
        super().__init__(f"{method or 'rpc'}: error {code}: {message}")


class EndpointUnavailable(Exception):
    """The endpoint cannot serve us right now (refused, dropped, timed out, dead stream).

    Retry later, and meanwhile fail over to the next endpoint.
    """


class EndpointMisconfigured(Exception):
    """The endpoint rejects us in a way retrying will not fix (bad URL, 401/403, wrong chain).

    Keep it out of rotation for a long while and tell the operator.
    """


class RequestTimedOut(EndpointUnavailable):
    """No answer within the request timeout. For a request that can be split (an eth_getLogs
    range), ask for less; otherwise as EndpointUnavailable."""


class ResponseTooLarge(EndpointUnavailable):
    """An answer over the size limit was refused (and counted). For ``eth_getLogs`` it means
    a smaller block range; a websocket that refused a message is closed by it."""


class StreamStale(EndpointUnavailable):
    """No new head within the liveness timeout although the socket looks open."""


class ResponseInvalid(EndpointUnavailable):
    """The endpoint answered with something that is not what the protocol promises."""


# Endpoint URLs carry API keys in their path, query or userinfo, and error texts end in logs and
# in /health: the rpc layer shows an endpoint's URL as scheme://host:port at most.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*")
_HOST_PORT = re.compile(r"[A-Za-z0-9._~%:\[\]-]*")


def url_origin(url: str) -> str:
    """``scheme://host:port`` as written in ``url`` (port only if given), never path or userinfo.

    Works on URLs that do not parse, so that an error about a bad URL can still say which one.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<url>"
    authority = _split_authority(rest)[0]
    host_port = authority.rpartition("@")[2]
    if not _HOST_PORT.fullmatch(host_port):
        host_port = "<bad host>"
    return f"{scheme.lower()}://{host_port}"


def _split_authority(rest: str) -> tuple[str, str]:
    """What follows ``scheme://``, split into the authority and the path/query/fragment."""
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    return rest[:end], rest[end:]


def scrub_url(text: str, url: str) -> str:
    """``text`` with every URL in it, and the secret parts of ``url``, cut down to an origin."""
    text = _URL_IN_TEXT.sub(lambda m: url_origin(m.group()), text)
    _, sep, rest = url.partition("://")
    if sep:
        authority, tail = _split_authority(rest)
        userinfo = authority.rpartition("@")[0]
        for secret in (userinfo, tail):
            if secret.strip("/"):
                text = text.replace(secret, "…")
    return text


# Server-side errors worth retrying elsewhere: limits, internal errors, unknown block (lagging
# node), and the non-standard codes providers use for rate limiting.
_RETRYABLE_CODES = frozenset({-32000, -32002, -32005, -32603, 429, -32097})


def rpc_error_retryable(err: RpcError) -> bool:
    return err.code in _RETRYABLE_CODES or "rate" in err.message.lower()


def range_too_large(err: RpcError) -> bool:
    """eth_getLogs refused because the block range or result set is too big: split it."""
    text = err.message.lower()
    return any(
        s in text
        for s in (
            "range",
            "too many",
            "more than",
            "limit exceeded",
            "response size",
            "query timeout",
            "10000",
        )
    )
