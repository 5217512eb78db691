"""The whole node config, and how a TOML file (plus the environment) becomes one.

A config file is TOML. Every field is validated here, so a bad file fails at load time with the
field's path and the problem, never later in the hot loop. Secrets (the API token, the database
URL when it carries a password) can come from the environment instead of the file:
``EDGE_API_TOKEN`` and ``EDGE_DATABASE_URL`` override the file's values, or from AWS Secrets
Manager (``api.token_secret_id``, ``store.secret_id``, or ``EDGE_API_TOKEN_SECRET_ID`` and
``EDGE_DATABASE_SECRET_ID``), where they rotate.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, model_validator

from shared.config.chain import ChainConfig, EndpointConfig, PoolConfig
from shared.config.fields import ConfigError, ConfigModel
from shared.config.services import (
    AlertsConfig,
    ApiConfig,
    CandleConfig,
    ControlConfig,
    HealthConfig,
    SecretsConfig,
    StoreConfig,
)
from shared.config.trading import ExecutionConfig, RiskConfig, StrategyConfig


class NodeConfig(ConfigModel):
    chain: ChainConfig
    endpoints: Annotated[list[EndpointConfig], Field(min_length=1)]
    pools: Annotated[list[PoolConfig], Field(min_length=1)]
    store: StoreConfig = StoreConfig()
    api: ApiConfig = ApiConfig()
    health: HealthConfig = HealthConfig()
    candles: CandleConfig = CandleConfig()
    strategy: StrategyConfig | None = None
    risk: RiskConfig = RiskConfig()
    execution: ExecutionConfig | None = None
    control: ControlConfig = ControlConfig()
    alerts: AlertsConfig = AlertsConfig()
    secrets: SecretsConfig = SecretsConfig()
    websocket: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> NodeConfig:
        for field, values in (
            ("endpoints", [e.name for e in self.endpoints]),
            ("pools", [p.name for p in self.pools]),
            ("pools", [p.address for p in self.pools]),
        ):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"{field}: duplicate names or addresses {dupes}")
        if self.websocket and not any(e.ws_url for e in self.endpoints):
            raise ValueError("websocket mode needs at least one endpoint with ws_url")
        if not self.websocket and not any(e.http_url for e in self.endpoints):
            raise ValueError("polling mode (websocket = false) needs an endpoint with http_url")
        if self.strategy is not None:
            self._check_strategy(self.strategy)
        return self

    def _check_strategy(self, strategy: StrategyConfig) -> None:
        if self.execution is None:
            raise ValueError("strategy: needs an [execution] section (executor and owner)")
        by_name = {p.name: p for p in self.pools}
        for i, pair in enumerate(strategy.pairs):
            where = f"strategy.pairs.{i}"
            missing = [n for n in pair.pools if n not in by_name]
            if missing:
                raise ValueError(f"{where}.pools: unknown pools {missing}")
            a, b = (by_name[n] for n in pair.pools)
            if a.name == b.name:
                raise ValueError(f"{where}.pools: the two pools must differ")
            if a.kind != "v2" or b.kind != "v2":
                raise ValueError(f"{where}.pools: both pools must be V2 (constant product)")
            if {a.token0, a.token1} != {b.token0, b.token1}:
                raise ValueError(f"{where}.pools: the pools must trade the same two tokens")
            if pair.capital not in (a.token0, a.token1):
                raise ValueError(f"{where}.capital: {pair.capital} is not a token of the pools")
            if pair.capital != self.chain.native_symbol:
                raise ValueError(
                    f"{where}.capital: must be the chain's wrapped native token "
                    f"({self.chain.native_symbol}; set chain.wrapped_native otherwise): gas is "
                    "paid in the native token and priced 1:1 in capital"
                )

    def api_token(self) -> str | None:
        return self.api.token.get_secret_value() if self.api.token else None


def _format_error(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        # Whole-model checks name their fields in the message itself.
        problems.append(f"{loc}: {msg}" if loc else msg)
    return problems


def parse_config(
    data: Mapping[str, Any], source: str = "config", env: Mapping[str, str] | None = None
) -> NodeConfig:
    """Validate a config mapping, applying environment overrides for secrets."""
    env = os.environ if env is None else env
    merged: dict[str, Any] = {
        k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()
    }
    if env.get("EDGE_API_TOKEN"):
        merged.setdefault("api", {})["token"] = env["EDGE_API_TOKEN"]
    if env.get("EDGE_DATABASE_URL"):
        merged.setdefault("store", {})["url"] = env["EDGE_DATABASE_URL"]
    if env.get("EDGE_API_TOKEN_SECRET_ID"):
        merged.setdefault("api", {})["token_secret_id"] = env["EDGE_API_TOKEN_SECRET_ID"]
    if env.get("EDGE_DATABASE_SECRET_ID"):
        merged.setdefault("store", {})["secret_id"] = env["EDGE_DATABASE_SECRET_ID"]
    try:
        return NodeConfig.model_validate(merged)
    except ValidationError as err:
        raise ConfigError(source, _format_error(err)) from None


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> NodeConfig:
    """Read and validate a TOML config file; raises ConfigError naming each bad field."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise ConfigError(str(p), [f"cannot read file: {err.strerror or err}"]) from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(str(p), ["file is not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(str(p), [f"not valid TOML: {err}"]) from None
    return parse_config(data, source=str(p), env=env)
