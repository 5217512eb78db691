"""RPC errors, named for what the caller must do."""

from __future__ import annotations

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


class StreamStale(EndpointUnavailable):
    """No new head within the liveness timeout although the socket looks open."""


class ResponseInvalid(EndpointUnavailable):
    """The endpoint answered with something that is not what the protocol promises."""


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
