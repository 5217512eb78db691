"""A rotated secret's versions as its consumers (the node) read them: AWSCURRENT, AWSPENDING
and AWSPREVIOUS, each with its value and creation time, plus when a refresh is due.

During a rotation, the far side may already hold the pending value while AWSCURRENT is still
the old one, and clients that read the secret before it finished still hold the previous one
(FIELD-NOTES), so a consumer keeps all three. Read by stage, never cached past a refresh; no
value is ever logged.

``RefreshGate`` is pure (times passed in): a refresh every ``interval_s``, and on demand (a
credential nobody knows) at most once per ``min_gap_s``, so that a stream of wrong tokens
cannot turn into a stream of Secrets Manager calls: an on-demand refresh within the gap
waits for the gap's end instead of being refused, so a right credential is still accepted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

CURRENT, PENDING, PREVIOUS = "AWSCURRENT", "AWSPENDING", "AWSPREVIOUS"


class SecretUnreadable(Exception):
    """Secrets Manager could not be read (unreachable, refused, no such secret): retry later;
    at start-up, fix the configuration or the permissions."""


@dataclass(frozen=True, slots=True)
class Version:
    version_id: str
    value: str
    created: float  # epoch seconds

    def __repr__(self) -> str:  # never the value
        return f"Version({self.version_id})"


@dataclass(frozen=True, slots=True)
class Versions:
    current: Version
    pending: Version | None = None  # a rotation under way (never the current version)
    previous: Version | None = None

    def ids(self) -> tuple[str | None, ...]:
        return tuple(
            v.version_id if v else None for v in (self.current, self.pending, self.previous)
        )


def _created(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def read_versions(client: Any, secret_id: str) -> Versions:
    """The three staged versions of ``secret_id`` (boto3 Secrets Manager client)."""
    found: dict[str, Version] = {}
    for stage in (CURRENT, PENDING, PREVIOUS):
        try:
            answer = client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except Exception as err:
            code = getattr(err, "response", {}).get("Error", {}).get("Code")
            # a stage nobody holds, or an empty pending version (a rotation just opened)
            if stage != CURRENT and code == "ResourceNotFoundException":
                continue
            raise SecretUnreadable(
                f"secret {secret_id!r} ({stage}) could not be read: {code or type(err).__name__}"
            ) from None
        value = answer.get("SecretString")
        if not isinstance(value, str):
            raise SecretUnreadable(f"secret {secret_id!r} holds no text")
        found[stage] = Version(str(answer["VersionId"]), value, _created(answer.get("CreatedDate")))
    current = found[CURRENT]
    pending = found.get(PENDING)
    if pending is not None and pending.version_id == current.version_id:
        pending = None
    return Versions(current, pending, found.get(PREVIOUS))


def secrets_client(region: str | None, timeout_s: float = 3.0) -> Any:
    """A boto3 Secrets Manager client whose calls are bounded (AWS_ENDPOINT_URL honoured)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=timeout_s,
        read_timeout=timeout_s,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return boto3.client("secretsmanager", region_name=region, config=config)


@dataclass(slots=True)
class RefreshGate:
    interval_s: float
    min_gap_s: float
    last: float | None = None

    def due(self, now: float) -> bool:
        return self.last is None or now - self.last >= self.interval_s

    def wait_before_on_demand(self, now: float) -> float:
        """Seconds to wait before an on-demand refresh may run (0: at once)."""
        return 0.0 if self.last is None else max(0.0, self.last + self.min_gap_s - now)

    def done(self, now: float) -> None:
        self.last = now
