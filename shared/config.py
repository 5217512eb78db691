"""Typed configuration of the edge node, shared with the functions that read it.

A config file is TOML. Every field is validated here, so a bad file fails at load time with the
field's path and the problem, never later in the hot loop. Secrets (the API token, the database
URL when it carries a password) can come from the environment instead of the file:
``EDGE_API_TOKEN`` and ``EDGE_DATABASE_URL`` override the file's values, or from AWS Secrets
Manager (``api.token_secret_id``, ``store.secret_id``, or ``EDGE_API_TOKEN_SECRET_ID`` and
``EDGE_DATABASE_SECRET_ID``), where they rotate.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

# Chain ids of public networks: a local development chain must never use one of them, so that
# nothing signed in development is valid anywhere real.
PUBLIC_CHAIN_IDS = frozenset({1, 56, 97, 5, 17000, 11155111})
ETHEREUM_CHAIN_IDS = frozenset({1, 5, 17000, 11155111})
CANDLE_INTERVALS: dict[str, int] = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400}

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
MIN_API_TOKEN_LENGTH = 16


class ConfigError(Exception):
    """The configuration is unusable; the caller must fix it and start again.

    ``problems`` lists one ``"field.path: what is wrong"`` line per problem.
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_url(url: str, schemes: tuple[str, ...]) -> str:
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


class EndpointConfig(_Model):
    """One RPC endpoint. Endpoints are tried in the order listed (the first is preferred)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    ws_url: str | None = None
    http_url: str | None = None

    @field_validator("ws_url")
    @classmethod
    def _ws_url(cls, v: str | None) -> str | None:
        return None if v is None else _check_url(v, ("ws", "wss"))

    @field_validator("http_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        return None if v is None else _check_url(v, ("http", "https"))

    @model_validator(mode="after")
    def _has_url(self) -> EndpointConfig:
        if self.ws_url is None and self.http_url is None:
            raise ValueError("needs ws_url, http_url or both")
        return self


class ChainConfig(_Model):
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


class PoolConfig(_Model):
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
        if not _ADDRESS.match(v):
            raise ValueError("must be a 0x-prefixed 20-byte hex address")
        return v.lower()


class StoreConfig(_Model):
    url: str = "sqlite:///data/edge.db"
    # A Secrets Manager secret holding the PostgreSQL credentials instead (a URL, or an
    # RDS-style JSON object as the rotation function keeps it); ``url`` is then ignored.
    # Credentials a database refuses are read again without a restart.
    secret_id: str | None = Field(default=None, min_length=1, max_length=2048)
    # Blocks coalesced into one write transaction at most.
    batch_max_blocks: int = Field(default=500, ge=1)
    # Commits waiting for the database; beyond either bound the node stops taking new blocks
    # (health then reports the lag) instead of growing without limit.
    queue_max: int = Field(default=20_000, ge=10)
    queue_max_events: int = Field(default=20_000, ge=100)
    auto_migrate: bool = True

    @field_validator("url")
    @classmethod
    def _scheme(cls, v: str) -> str:
        if not v.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://", "postgres://")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return v


class ApiConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token: SecretStr | None = None
    # A Secrets Manager secret holding the token instead (rotated: its current and pending
    # versions are accepted, the previous one for [secrets] previous_grace_s).
    token_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)

    @field_validator("token")
    @classmethod
    def _token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < MIN_API_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_API_TOKEN_LENGTH} characters")
        return v


class SecretsConfig(_Model):
    """How the node reads the secrets it takes from AWS Secrets Manager."""

    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # Versions are read again this often, and at once when a credential is refused (at
    # most once per min_refresh_gap_s).
    refresh_s: float = Field(default=300.0, gt=0, le=86_400)
    min_refresh_gap_s: float = Field(default=2.0, ge=0, le=300)
    # How long after a rotation the previous API token is still accepted.
    previous_grace_s: float = Field(default=3600.0, ge=0, le=7 * 86_400)
    timeout_s: float = Field(default=3.0, gt=0, le=60)


class HealthConfig(_Model):
    # /healthz is "not ok" once the last processed block is older than this (chain time).
    max_block_age_s: float = Field(default=30.0, gt=0)


class CandleConfig(_Model):
    intervals: Annotated[list[str], Field(min_length=1)] = ["1m", "5m", "1h"]

    @field_validator("intervals")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [i for i in v if i not in CANDLE_INTERVALS]
        if unknown:
            raise ValueError(f"unknown intervals {unknown}; known: {sorted(CANDLE_INTERVALS)}")
        if len(set(v)) != len(v):
            raise ValueError("intervals must not repeat")
        return v


# Token amounts are decimal strings in token units ("0.5"), turned into exact integers with the
# token's decimals at start-up: money is never a float.
Amount = Annotated[Decimal, Field(ge=0, max_digits=40, decimal_places=18)]


class ArbitragePairConfig(_Model):
    """Two V2 pools of the same two tokens, with different fees."""

    pools: tuple[str, str]
    capital: str = Field(min_length=1, max_length=16)  # symbol of the token the executor holds


class StrategyConfig(_Model):
    """The strategy and its parameters; hot-reloadable (validated first)."""

    kind: Literal["two_pool_arbitrage"] = "two_pool_arbitrage"
    enabled: bool = True
    pairs: Annotated[list[ArbitragePairConfig], Field(min_length=1)]
    # Net of gas, in capital units; below this an opportunity is not worth a transaction.
    min_profit: Amount = Decimal("0.0001")
    max_input: Amount = Decimal("10")
    gas_limit: int = Field(default=250_000, ge=21_000, le=10_000_000)


class RiskConfig(_Model):
    """Limits every trade passes; capital amounts in capital units, gas in native units."""

    max_trade_size: Amount = Decimal("10")
    max_daily_loss: Amount = Decimal("1")
    max_gas_price_gwei: float = Field(default=20.0, gt=0)
    min_gas_balance: Amount = Decimal("0.05")
    max_consecutive_failures: int = Field(default=3, ge=1)
    # Older market data than this (chain time of the last processed block) pauses trading.
    max_data_age_s: float = Field(default=10.0, gt=0)


class KeyConfig(_Model):
    source: Literal["env", "keystore", "secrets_manager"] = "env"
    env_var: str = "EDGE_SIGNER_KEY"
    keystore_path: str | None = None
    # The keystore's password: in this environment variable (removed from the environment
    # once the key is loaded), or in this file (its trailing line break is not part of the
    # password; readable by the node's user only, mode 0400, is good practice).
    password_env: str = "EDGE_KEYSTORE_PASSWORD"  # noqa: S105 (the variable's name)
    password_file: str | None = Field(default=None, min_length=1)
    secret_id: str | None = None
    region: str | None = None
    field: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> KeyConfig:
        if self.source == "keystore" and not self.keystore_path:
            raise ValueError("source keystore needs keystore_path")
        if self.password_file is not None:
            if self.source != "keystore":
                raise ValueError("password_file is the keystore's password: needs source keystore")
            if "password_env" in self.model_fields_set:
                raise ValueError("give password_env or password_file, not both")
        if self.source == "secrets_manager" and not (self.secret_id and self.region):
            raise ValueError("source secrets_manager needs secret_id and region")
        return self


class ExecutionConfig(_Model):
    """How trades become transactions. Paper mode (the default) never loads a key."""

    mode: Literal["paper", "live"] = "paper"
    executor: str  # the ArbExecutor contract
    owner: str  # the bot's address: owns the executor, pays gas, signs
    tx_type: Literal["legacy", "eip1559"] = "legacy"  # BSC: legacy; Ethereum: eip1559
    gas_price_multiplier: float = Field(default=1.1, ge=1.0, le=5.0)
    priority_fee_gwei: float = Field(default=1.0, ge=0)
    # A transaction not mined after this many blocks is replaced with a higher price.
    replace_after_blocks: int = Field(default=3, ge=1)
    # A trade is settled (journal, risk tally) once its block has this many confirmations (its
    # own block counts as one). BSC's fast finality makes 2-3 enough; a reorg that removes the
    # block before (or after) that puts the trade back to pending.
    confirmations: int = Field(default=2, ge=1, le=64)
    # Bump for replacements (nodes require at least 10%).
    replacement_bump: float = Field(default=1.125, ge=1.1, le=3.0)
    key: KeyConfig = KeyConfig()

    @field_validator("executor", "owner")
    @classmethod
    def _address(cls, v: str) -> str:
        if not _ADDRESS.match(v):
            raise ValueError("must be a 0x-prefixed 20-byte hex address")
        return v.lower()


class ControlConfig(_Model):
    """The emergency stop's remote surfaces."""

    poll_interval_s: float = Field(default=0.5, gt=0, le=5)
    # An AWS SSM parameter a runbook can set to "true" to stop the node from anywhere.
    ssm_parameter: str | None = None
    aws_region: str | None = None
    # On SIGTERM: how long to wait for in-flight transactions to settle.
    drain_timeout_s: float = Field(default=30.0, ge=0)

    @model_validator(mode="after")
    def _region(self) -> ControlConfig:
        if self.ssm_parameter and not self.aws_region:
            raise ValueError("ssm_parameter needs aws_region")
        return self


class AlertsConfig(_Model):
    """Where the node raises its own critical events (emergency stop, risk pause, a reorg
    deeper than the window): the alert fan-out's SNS topic. Unset: not raised (the alarms on
    its metrics still see them)."""

    sns_topic_arn: str | None = None
    # Events waiting for SNS; beyond it a new event is dropped and counted, never waited for.
    queue_max: int = Field(default=100, ge=1, le=10_000)

    @field_validator("sns_topic_arn")
    @classmethod
    def _arn(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(
            r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}", v
        ):
            raise ValueError(
                "must be an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME); the region is "
                "taken from it"
            )
        return v

    @property
    def region(self) -> str | None:
        return self.sns_topic_arn.split(":")[3] if self.sns_topic_arn else None


class NodeConfig(_Model):
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
