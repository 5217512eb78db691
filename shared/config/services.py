"""The node's own services: the store, the admin API, secrets, health, candles, the emergency
stop's remote surfaces and where critical events are raised."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, SecretStr, field_validator, model_validator

from shared.config.fields import CANDLE_INTERVALS, MIN_API_TOKEN_LENGTH, ConfigModel


class StoreConfig(ConfigModel):
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


class ApiConfig(ConfigModel):
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


class SecretsConfig(ConfigModel):
    """How the node reads the secrets it takes from AWS Secrets Manager."""

    region: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[a-z]+)+-\d$")
    # Versions are read again this often, and at once when a credential is refused (at
    # most once per min_refresh_gap_s).
    refresh_s: float = Field(default=300.0, gt=0, le=86_400)
    min_refresh_gap_s: float = Field(default=2.0, ge=0, le=300)
    # How long after a rotation the previous API token is still accepted.
    previous_grace_s: float = Field(default=3600.0, ge=0, le=7 * 86_400)
    timeout_s: float = Field(default=3.0, gt=0, le=60)


class HealthConfig(ConfigModel):
    # /healthz is "not ok" once the last processed block is older than this (chain time).
    max_block_age_s: float = Field(default=30.0, gt=0)


class CandleConfig(ConfigModel):
    # A pydantic field: each model gets its own copy of the default.
    intervals: Annotated[list[str], Field(min_length=1)] = ["1m", "5m", "1h"]  # noqa: RUF012

    @field_validator("intervals")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = [i for i in v if i not in CANDLE_INTERVALS]
        if unknown:
            raise ValueError(f"unknown intervals {unknown}; known: {sorted(CANDLE_INTERVALS)}")
        if len(set(v)) != len(v):
            raise ValueError("intervals must not repeat")
        return v


class ControlConfig(ConfigModel):
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


class AlertsConfig(ConfigModel):
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
