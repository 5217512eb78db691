"""The probe's settings (``EDGE_OPS_*`` variables) and thresholds, with the seeds' defaults.

Where the node is (``EDGE_OPS_NODE_URL``), its API token (a Secrets Manager secret, or a value
for a person's laptop), the RPC endpoints to compare with it (JSON read by
shared/rpc_endpoints.py, given directly or in a secret: provider URLs carry API keys, so only
names are ever shown),
and the backups' location. Every call is bounded by ``probe_call_timeout_s`` and the whole
probe by ``probe_deadline_s``, well under its one-minute schedule.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, SecretStr, field_validator, model_validator

from functions.common.errors import BadInput
from functions.common.settings import OpsSettings
from shared import rpc_endpoints
from shared.rpc_endpoints import NAME_PATTERN

DAY_S = 86_400.0

# seed 000 "Performance Degradation Triggers": health check response > 1000 ms
HEALTH_SLOW_MS = 1000.0
# seed 000 warning alerts: rpc_response_time_p95 > 5000 ms (one call above it fails the check)
RPC_SLOW_MS = 5000.0
# The node's own health limit is 30 s of chain time; 40 BSC blocks (0.75 s) are as much.
RPC_MAX_LAG_BLOCKS = 40
# seed 000: (current_time - latest_price_update) > 300 seconds
PRICE_STALE_S = 300.0
# Backups run daily and are verified weekly (Monday): the newest verified one is at most 7 days
# and a few hours old while everything works.
BACKUP_MAX_AGE_S = 8 * DAY_S


@dataclass(frozen=True, slots=True)
class Thresholds:
    health_slow_ms: float = HEALTH_SLOW_MS
    rpc_slow_ms: float = RPC_SLOW_MS
    rpc_max_lag_blocks: int = RPC_MAX_LAG_BLOCKS
    price_stale_s: float = PRICE_STALE_S
    backup_max_age_s: float = BACKUP_MAX_AGE_S


class ProbeSettings(OpsSettings):
    node_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    node_name: str = Field(default="edge", pattern=NAME_PATTERN)
    node_token_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)
    node_token: SecretStr | None = None  # for a person's laptop; functions use the secret
    rpc_endpoints: SecretStr | None = None  # shared/rpc_endpoints.py JSON: URLs hold keys
    rpc_endpoints_secret_id: str | None = Field(default=None, min_length=1, max_length=2048)
    backup_location: str | None = None  # s3://bucket/prefix, as the backup functions use

    probe_call_timeout_s: float = Field(default=5.0, gt=0, le=30)
    probe_deadline_s: float = Field(default=20.0, gt=0, le=50)
    probe_health_slow_ms: float = Field(default=HEALTH_SLOW_MS, gt=0)
    probe_rpc_slow_ms: float = Field(default=RPC_SLOW_MS, gt=0)
    probe_rpc_max_lag_blocks: int = Field(default=RPC_MAX_LAG_BLOCKS, ge=0)
    probe_price_stale_s: float = Field(default=PRICE_STALE_S, gt=0)
    probe_backup_max_age_s: float = Field(default=BACKUP_MAX_AGE_S, gt=0)

    @field_validator("node_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _consistent(self) -> ProbeSettings:
        if self.node_token is not None and self.node_token_secret_id is not None:
            raise ValueError("set EDGE_OPS_NODE_TOKEN_SECRET_ID or EDGE_OPS_NODE_TOKEN, not both")
        if self.rpc_endpoints is not None and self.rpc_endpoints_secret_id is not None:
            raise ValueError(
                "set EDGE_OPS_RPC_ENDPOINTS or EDGE_OPS_RPC_ENDPOINTS_SECRET_ID, not both"
            )
        if self.probe_call_timeout_s >= self.probe_deadline_s:
            raise ValueError(
                "EDGE_OPS_PROBE_CALL_TIMEOUT_S must be shorter than EDGE_OPS_PROBE_DEADLINE_S"
            )
        return self

    def thresholds(self) -> Thresholds:
        return Thresholds(
            health_slow_ms=self.probe_health_slow_ms,
            rpc_slow_ms=self.probe_rpc_slow_ms,
            rpc_max_lag_blocks=self.probe_rpc_max_lag_blocks,
            price_stale_s=self.probe_price_stale_s,
            backup_max_age_s=self.probe_backup_max_age_s,
        )

    def require_node_url(self) -> str:
        if not self.node_url:
            raise BadInput("no node to probe: set EDGE_OPS_NODE_URL (or pass --node-url)")
        return self.node_url


def parse_endpoints(raw: str, source: str) -> dict[str, str]:
    """RPC endpoints from JSON, name -> http_url, in either shape shared/rpc_endpoints.py reads
    (``{"name": "url"}`` or the node's ``[{"name", "http_url", "ws_url"}]``). Errors name
    ``source`` and the entry, never a URL."""
    try:
        endpoints = rpc_endpoints.parse(raw)
    except rpc_endpoints.BadRpcEndpoints as err:
        raise BadInput(f"{source}: {err}") from None
    return {e.name: e.http_url for e in endpoints}
