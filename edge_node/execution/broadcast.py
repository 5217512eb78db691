"""Broadcasting a signed transaction to every configured endpoint at once.

One endpoint dropping a transaction must not lose it (field notes: a broadcast through one RPC
was dropped and nothing recorded it), so the same bytes go to all of them in parallel; the
transaction is out if any accepted it. Answers are classified into what the caller must do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from edge_node.rpc.errors import (
    EndpointMisconfigured,
    EndpointUnavailable,
    ResponseInvalid,
    RpcError,
)
from edge_node.rpc.http import HttpRpc
from edge_node.telemetry import Metrics
from shared.config import EndpointConfig

ALREADY_KNOWN = "already_known"
NONCE_TOO_LOW = "nonce_too_low"
UNDERPRICED = "underpriced"
INSUFFICIENT_FUNDS = "insufficient_funds"
UNREACHABLE = "unreachable"
REJECTED = "rejected"


def classify(message: str) -> str:
    m = message.lower()
    if "already known" in m or "known transaction" in m or "already imported" in m:
        return ALREADY_KNOWN
    if "nonce too low" in m or "nonce is too low" in m or "invalid nonce" in m:
        return NONCE_TOO_LOW
    if "underpriced" in m or "fee too low" in m or "less than block base fee" in m:
        return UNDERPRICED
    if "insufficient funds" in m:
        return INSUFFICIENT_FUNDS
    return REJECTED


@dataclass(slots=True)
class BroadcastResult:
    accepted_by: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # endpoint -> error class

    @property
    def accepted(self) -> bool:
        return bool(self.accepted_by)

    @property
    def error_class(self) -> str | None:
        """The error every endpoint agrees on when none accepted (None if some did)."""
        if self.accepted or not self.refused:
            return None
        classes = set(self.refused.values()) - {UNREACHABLE}
        if len(classes) == 1:
            return classes.pop()
        return UNREACHABLE if not classes else REJECTED


class Broadcaster:
    def __init__(self, endpoints: list[EndpointConfig], metrics: Metrics, timeout: float) -> None:
        self.clients = [
            HttpRpc(e.http_url, e.name, metrics, timeout) for e in endpoints if e.http_url
        ]
        if not self.clients:
            raise ValueError("live trading broadcasts over HTTP: no endpoint has an http_url")

    async def send(self, raw_hex: str) -> BroadcastResult:
        answers = await asyncio.gather(
            *(c.request("eth_sendRawTransaction", [raw_hex]) for c in self.clients),
            return_exceptions=True,
        )
        result = BroadcastResult()
        for client, answer in zip(self.clients, answers, strict=True):
            if isinstance(answer, RpcError):
                kind = classify(answer.message)
                if kind == ALREADY_KNOWN:
                    result.accepted_by.append(client.name)
                else:
                    result.refused[client.name] = kind
            elif isinstance(answer, EndpointUnavailable | EndpointMisconfigured | ResponseInvalid):
                result.refused[client.name] = UNREACHABLE
            elif isinstance(answer, BaseException):
                raise answer
            else:
                result.accepted_by.append(client.name)
        return result

    async def close(self) -> None:
        for c in self.clients:
            await c.close()
