"""What the node trades and how: the strategy, the risk limits, execution and the signing key."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from shared.config.fields import Amount, ConfigModel, check_address


class ArbitragePairConfig(ConfigModel):
    """Two V2 pools of the same two tokens, with different fees."""

    pools: tuple[str, str]
    capital: str = Field(min_length=1, max_length=16)  # symbol of the token the executor holds


class StrategyConfig(ConfigModel):
    """The strategy and its parameters; hot-reloadable (validated first)."""

    kind: Literal["two_pool_arbitrage"] = "two_pool_arbitrage"
    enabled: bool = True
    pairs: Annotated[list[ArbitragePairConfig], Field(min_length=1)]
    # Net of gas, in capital units; below this an opportunity is not worth a transaction.
    min_profit: Amount = Decimal("0.0001")
    max_input: Amount = Decimal("10")
    gas_limit: int = Field(default=250_000, ge=21_000, le=10_000_000)


class RiskConfig(ConfigModel):
    """Limits every trade passes; capital amounts in capital units, gas in native units."""

    max_trade_size: Amount = Decimal("10")
    max_daily_loss: Amount = Decimal("1")
    max_gas_price_gwei: float = Field(default=20.0, gt=0)
    min_gas_balance: Amount = Decimal("0.05")
    max_consecutive_failures: int = Field(default=3, ge=1)
    # Older market data than this (chain time of the last processed block) pauses trading.
    max_data_age_s: float = Field(default=10.0, gt=0)


class KeyConfig(ConfigModel):
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


class ExecutionConfig(ConfigModel):
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
        return check_address(v)
