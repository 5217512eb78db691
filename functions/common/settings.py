"""Typed settings of the functions and the CLI, read from the environment.

Every function reads ``OpsSettings`` (or a subclass adding its own fields) once per process,
through ``load_settings``: a missing or malformed variable fails there with the variable's name,
never later in the middle of a backup. Our variables carry the ``EDGE_OPS_`` prefix; the
database URL also answers to the usual ``DATABASE_URL``. AWS itself is configured by the
standard variables that boto3 reads (``AWS_REGION``/``AWS_DEFAULT_REGION``, ``AWS_PROFILE``,
``AWS_ENDPOINT_URL`` for moto or another S3), so nothing here duplicates them.

A subclass adds fields like this (the prefix is inherited)::

    class BackupSettings(OpsSettings):
        backup_location: str  # EDGE_OPS_BACKUP_LOCATION
"""

from __future__ import annotations

from typing import TypeVar, overload

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from functions.common.errors import BadInput

ENV_PREFIX = "EDGE_OPS_"


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, populate_by_name=True
    )

    # The store: a URL given directly, or the id of a Secrets Manager secret holding it (a URL
    # string, or an RDS-style JSON object with username, password, host, port, dbname).
    database_url: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("EDGE_OPS_DATABASE_URL", "DATABASE_URL")
    )
    database_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)
    # Secrets are cached this long per process (warm Lambda invocations reuse them); a refusal
    # by the database fetches them again at once whatever their age.
    secret_max_age_s: int = Field(default=300, ge=0, le=86_400)

    # AWS calls: bounded so that a hung endpoint fails the invocation well inside its timeout.
    aws_connect_timeout_s: float = Field(default=3.0, gt=0, le=60)
    aws_read_timeout_s: float = Field(default=20.0, gt=0, le=300)
    aws_max_attempts: int = Field(default=4, ge=1, le=10)

    # Where the functions announce what they did (reports, backup failures); optional.
    notify_topic_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:sns:")
    # Deployment name (dev, prod), put on metrics as a dimension and in messages.
    environment: str = Field(
        default="dev", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$"
    )

    @model_validator(mode="after")
    def _one_database_source(self) -> OpsSettings:
        if self.database_url is not None and self.database_secret_id is not None:
            raise ValueError(
                "set either EDGE_OPS_DATABASE_URL (or DATABASE_URL) or "
                "EDGE_OPS_DATABASE_SECRET_ID, not both"
            )
        return self


S = TypeVar("S", bound=OpsSettings)


@overload
def load_settings() -> OpsSettings: ...
@overload
def load_settings(cls: type[S]) -> S: ...
def load_settings(cls: type[OpsSettings] = OpsSettings) -> OpsSettings:
    """The settings from the environment, or ``BadInput`` naming each bad variable."""
    try:
        return cls()
    except ValidationError as err:
        problems = []
        for e in err.errors(include_url=False, include_input=False):
            loc = "_".join(str(p) for p in e["loc"]).upper()
            # a field's name gets the prefix; an alias is already a variable's full name
            name = (loc if loc.startswith(ENV_PREFIX) else ENV_PREFIX + loc) if loc else "settings"
            problems.append(f"{name}: {e['msg']}")
        raise BadInput("bad environment: " + "; ".join(problems)) from None
