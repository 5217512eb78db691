"""Health from progress, not from a live process. Pure: the caller supplies the readings.

A node whose process is up but whose last processed block keeps getting older is not healthy
(field notes: "alive but doing nothing"). Chain time is used: the age of the last processed
block's timestamp. A store that cannot be written is reported, and makes the node unhealthy
once its backlog is older than the same threshold.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HealthInputs:
    now: float
    last_block_time: int | None  # chain timestamp of the last processed block
    max_block_age_s: float
    connected: bool
    store_failed: str | None
    store_retrying_since: float | None
    listener_fatal: str | None
    # Set when every endpoint has been refused as misconfigured (wrong chain, 401, bad URL):
    # nothing can progress until the configuration changes, so there is no point waiting.
    all_endpoints_refused: str | None = None


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    checks: dict[str, bool]
    block_age_s: float | None
    reasons: tuple[str, ...]


def evaluate(i: HealthInputs) -> Health:
    reasons: list[str] = []
    age = None if i.last_block_time is None else max(0.0, i.now - i.last_block_time)
    progress = age is not None and age <= i.max_block_age_s
    if age is None:
        reasons.append("no block processed yet")
    elif not progress:
        reasons.append(f"last processed block is {age:.0f}s old (limit {i.max_block_age_s:.0f}s)")
    store_ok = i.store_failed is None and (
        i.store_retrying_since is None or i.now - i.store_retrying_since <= i.max_block_age_s
    )
    if i.store_failed is not None:
        reasons.append(f"store failed: {i.store_failed}")
    elif not store_ok:
        reasons.append("store unreachable")
    if i.listener_fatal is not None:
        reasons.append(i.listener_fatal)
    if i.all_endpoints_refused is not None:
        reasons.append(f"every endpoint refused: {i.all_endpoints_refused}")
    if not i.connected:
        reasons.append("no RPC endpoint connected")
    endpoints_ok = i.all_endpoints_refused is None
    checks = {
        "progress": progress,
        "store": store_ok,
        "listener": i.listener_fatal is None,
        "endpoints": endpoints_ok,
        "rpc_connected": i.connected,
    }
    # Being disconnected for a moment (a reconnect) is fine as long as progress holds.
    ok = progress and store_ok and i.listener_fatal is None and endpoints_ok
    return Health(ok, checks, age, tuple(reasons))
