"""What every config section builds on: the error, the frozen base model, the URL and address
checks, token amounts and the chain constants the checks use."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

# Chain ids of public networks: a local development chain must never use one of them, so that
# nothing signed in development is valid anywhere real.
PUBLIC_CHAIN_IDS = frozenset({1, 56, 97, 5, 17000, 11155111})
ETHEREUM_CHAIN_IDS = frozenset({1, 5, 17000, 11155111})
CANDLE_INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400}

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
MIN_API_TOKEN_LENGTH = 16


class ConfigError(Exception):
    """The configuration is unusable; the caller must fix it and start again.

    ``problems`` lists one ``"field.path: what is wrong"`` line per problem.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class ConfigModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def check_url(url: str, schemes: tuple[str, ...]) -> str:
    """Refuse a URL no client can connect to, so it fails here and not in the connect loop.

    Messages never quote the URL: endpoint URLs carry API keys.
    """
    prefixes = tuple(f"{s}://" for s in schemes)
    if not url.startswith(prefixes):
        raise ValueError("must start with " + " or ".join(prefixes))
    if any(c.isspace() or not c.isprintable() for c in url):
        raise ValueError("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:  # "Invalid IPv6 URL"
        raise ValueError("is not a valid URL (bad host syntax)") from None
    try:
        port = parts.port
    except ValueError as err:
        # urllib's own text may quote the port; ours quotes nothing of the URL.
        if "out of range" not in str(err):
            raise ValueError("has a port that is not a number") from None
        port = 0
    if port == 0:
        raise ValueError("port must be 1-65535")
    if not parts.hostname:
        raise ValueError("has no host")
    return url


# Token amounts are decimal strings in token units ("0.5"), turned into exact integers with the
# token's decimals at start-up: money is never a float.
Amount = Annotated[Decimal, Field(ge=0, max_digits=40, decimal_places=18)]


def check_address(v: str) -> str:
    """A 0x-prefixed 20-byte hex address, lower-cased so comparisons need no care."""
    if not ADDRESS.fullmatch(v):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return v.lower()
