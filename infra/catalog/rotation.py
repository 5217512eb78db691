"""Secrets Manager rotation: how often each secret turns over, and by which function."""

from __future__ import annotations

# Secrets Manager rotation: the secret -> (days, rotation function or None).
ROTATION: dict[str, tuple[int | None, str | None]] = {
    "api-token": (90, "rotate-api-token"),  # 002: inter-service tokens every 90 days
    "db-credentials": (90, "rotate-database"),  # 002: database passwords every 90 days
    "rpc-keys": (None, None),  # provider-issued: by hand; secret-age warns after 180 days
}
SECRET_MAX_AGE_DAYS: dict[str, int] = {"api-token": 90, "db-credentials": 90, "rpc-keys": 180}
