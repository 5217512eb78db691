"""The chain followed: its RPC endpoints, how to follow it, and the pools read from it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from shared.config.fields import (
    ETHEREUM_CHAIN_IDS,
    PUBLIC_CHAIN_IDS,
    ConfigModel,
    check_address,
    check_url,
)


class EndpointConfig(ConfigModel):
    """One RPC endpoint. Endpoints are tried in the order listed (the first is preferred)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    ws_url: str | None = None
    http_url: str | None = None

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v, ("ws", "wss"))

    @field_validator("http_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        return None if v is None else check_url(v, ("http", "https"))

    @model_validator(mode="after")
    def _has_url(self) -> EndpointConfig:
        if self.ws_url is None and self.http_url is None:
            raise ValueError("needs ws_url, http_url or both")
        return self


class ChainConfig(ConfigModel):
    """The chain followed and how to follow it."""

    name: str = Field(default="bsc", min_length=1, max_length=32)
    chain_id: int = Field(gt=0)
    # Blocks kept with undo records; a reorg deeper than this cannot be rolled back.
    reorg_window: int = Field(default=64, ge=2, le=1024)
    # No new head for this long means the stream is dead, even if the socket looks open.
    liveness_timeout_s: float = Field(default=15.0, gt=0)
    request_timeout_s: float = Field(default=10.0, gt=0)
    getlogs_max_range: int = Field(default=2000, ge=1, le=100_000)
    batch_max_requests: int = Field(default=100, ge=1, le=1000)
    backoff_initial_s: float = Field(default=0.25, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    poll_interval_s: float = Field(default=1.0, gt=0)
    probe_interval_s: float = Field(default=5.0, gt=0)
    # An endpoint more than this many blocks behind the best known head is not used.
    max_head_lag_blocks: int = Field(default=5, ge=0)
    # First block to follow when the store has no checkpoint; None means one reorg window
    # below the current head.
    start_block: int | None = Field(default=None, ge=0)
    local: bool = False
    # Symbol of the wrapped native token (gas is paid in the native token, so a strategy's
    # capital must be this one for gas to be priced 1:1). Default by chain id: WETH on
    # Ethereum and its testnets, WBNB otherwise.
    wrapped_native: str | None = Field(default=None, min_length=1, max_length=16)

    @property
    def native_symbol(self) -> str:
        if self.wrapped_native is not None:
            return self.wrapped_native
        return "WETH" if self.chain_id in ETHEREUM_CHAIN_IDS else "WBNB"

    @model_validator(mode="after")
    def _local_chain_id(self) -> ChainConfig:
        if self.local and self.chain_id in PUBLIC_CHAIN_IDS:
            raise ValueError(
                f"chain_id {self.chain_id} belongs to a public network; a local chain needs its own"
            )
        if self.backoff_max_s < self.backoff_initial_s:
            raise ValueError("backoff_max_s must be at least backoff_initial_s")
        return self


class PoolConfig(ConfigModel):
    """A DEX pool to follow. Prices are quoted as ``quote per base``."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    address: str
    kind: Literal["v2", "v3"] = "v2"
    token0: str = Field(min_length=1, max_length=16)
    token1: str = Field(min_length=1, max_length=16)
    decimals0: int = Field(ge=0, le=36)
    decimals1: int = Field(ge=0, le=36)
    base: Literal["token0", "token1"] = "token0"
    fee_bps: int = Field(default=25, ge=0, lt=10_000)

    @field_validator("address")
    @classmethod
    def _address(cls, v: str) -> str:
        return check_address(v)
