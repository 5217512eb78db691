"""Settings of the rotation and secret-age functions (``EDGE_OPS_`` variables)."""

from __future__ import annotations

from pydantic import Field

from functions.common.settings import OpsSettings


class RotationSettings(OpsSettings):
    # The node's base URL: testSecret of the API token calls its authenticated /health with
    # the pending token. None: the token's format is tested only.
    node_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$", max_length=2048)
    node_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # Logging in to the database to set or test a password.
    db_connect_timeout_s: float = Field(default=5.0, ge=1, le=60)
    # An AWSPENDING version older than this is a rotation that failed half way: it blocks the
    # next one, so the secret-age check warns about it.
    rotation_stuck_hours: float = Field(default=24.0, gt=0, le=24 * 30)
    # The secrets the age check looks at, by role (api-token, db-credentials, rpc-keys), as
    # JSON; unset: every secret tagged edge-ops:secret-kind (needs secretsmanager:ListSecrets).
    secret_ids: dict[str, str] | None = None
    # Their limits by role, as JSON (default: 90 days, 180 for API keys).
    secret_max_age_days: dict[str, int] = Field(default_factory=dict)
