"""The runbooks' settings (``EDGE_OPS_...``; infra/functions.py sets them from the catalog)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from functions.common.settings import OpsSettings


class RunbookSettings(OpsSettings):
    # The node: its API (the token from Secrets Manager, or given directly to the CLI).
    node_url: str | None = Field(default=None, pattern=r"^https?://")
    api_token_secret_id: str | None = Field(default=None, min_length=1)
    api_token: SecretStr | None = None
    node_timeout_s: float = Field(default=5.0, gt=0, le=30)
    # The remote flag the node polls (shared/control_flags.py).
    stop_parameter: str | None = Field(default=None, min_length=1)
    # The edge host, for SSM Run Command.
    edge_instance_id: str | None = Field(default=None, pattern=r"^(i|mi)-[0-9a-f]+$")
    restart_command: str = "systemctl restart edge-node"
    # Where incident reports go (s3://bucket/incidents).
    incidents_to: str | None = None
    # The lock and once-records (DynamoDB, key "id", TTL "expiration").
    runbook_table: str | None = Field(default=None, min_length=3)
    lock_ttl_s: int = Field(default=900, ge=60, le=3600)  # the longest runbook (prune) + margin
    # A critical escalation also goes to this topic (its e-mail does not depend on the fan-out).
    escalate_topic_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:sns:")
    # How long to wait for the effect of an action.
    confirm_within_s: float = Field(default=30.0, gt=0, le=600)  # a stop seen in /health
    restart_wait_s: float = Field(default=120.0, gt=0, le=600)  # /healthz back after a restart
    poll_s: float = Field(default=2.0, gt=0, le=60)
    # The prune runbook (functions/prune's settings).
    prune_archive_to: str | None = None
    prune_older_than: str = "90d"
    prune_batch_size: int = Field(default=5000, ge=1, le=100_000)
