"""Stopping or pausing a node from outside it, through every surface it has: the one module the
node's CLI and the runbook functions call (the node's own API calls ``edge_node.control``).

- the admin API (``POST /admin/...``), which changes the state at once and audits it;
- the database flags (``system_config``, audited), which the node polls and reads at start;
- the remote SSM flag, which the node polls and reads at start, reachable without the database.

An emergency stop goes through all three whatever each answers (a stop that does not stop is the
worst failure: FIELD-NOTES 6); a pause asks the API first and falls back to the flags only when
the API does not take it. Each surface's outcome is returned, never raised: the caller reports
them and decides what counts as done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared import control_flags as flags
from shared.node_api import ApiUnreachable, NodeApi

API, DATABASE, SSM = "api", "database", "ssm"

# write(key, value, actor, reason): sets a database flag with its audit row.
DbWriter = Callable[[str, bool, str, str], None]


@dataclass(frozen=True, slots=True)
class SurfaceResult:
    surface: str  # api | database | ssm
    ok: bool
    detail: str
    at: float  # when it answered (epoch seconds)
    answer: dict[str, Any] | None = None  # the API's answer, when it gave one

    def as_dict(self) -> dict[str, Any]:
        return {"surface": self.surface, "ok": self.ok, "detail": self.detail, "at": self.at}


@dataclass(frozen=True, slots=True)
class Surfaces:
    """What a caller can reach; a surface left None is reported as not configured."""

    api: NodeApi | None = None
    write_db_flag: DbWriter | None = None
    ssm: Any | None = None
    ssm_parameter: str | None = None


def _api(s: Surfaces, action: str, actor: str, reason: str) -> SurfaceResult:
    if s.api is None:
        return SurfaceResult(API, False, "no node API configured", time.time())
    try:
        code, body = s.api.admin(action, reason, actor)
    except ApiUnreachable as err:
        return SurfaceResult(API, False, f"API does not answer ({err})", time.time())
    answer = body if isinstance(body, dict) else {}
    if code != 200:
        error = answer.get("error", body)
        return SurfaceResult(API, False, f"API answered {code}: {error}", time.time(), answer)
    if action == "emergency-stop":
        detail = f"node stopped (halted in {answer.get('halted_in_ms')} ms)"
    else:
        detail = f"trading {answer.get('state')}"
    return SurfaceResult(API, True, detail, time.time(), answer)


def _db(s: Surfaces, key: str, actor: str, reason: str) -> SurfaceResult:
    if s.write_db_flag is None:
        return SurfaceResult(DATABASE, False, "no database configured", time.time())
    try:
        s.write_db_flag(key, True, actor, reason)
    except Exception as err:  # reported: the other surfaces still act
        text = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return SurfaceResult(DATABASE, False, f"database flag not set: {text}", time.time())
    return SurfaceResult(DATABASE, True, f"database flag set ({key})", time.time())


def _ssm(s: Surfaces, pause: bool) -> SurfaceResult:
    if s.ssm is None or not s.ssm_parameter:
        return SurfaceResult(SSM, False, "no remote flag configured", time.time())
    try:
        if pause:
            state = flags.pause_ssm(s.ssm, s.ssm_parameter)
        else:
            flags.write_ssm_state(s.ssm, s.ssm_parameter, flags.RemoteState.STOP)
            state = flags.RemoteState.STOP
    except Exception as err:
        return SurfaceResult(SSM, False, f"remote flag not set: {err}", time.time())
    word = "stop" if state is flags.RemoteState.STOP else "pause"
    return SurfaceResult(SSM, True, f"remote flag {s.ssm_parameter} set ({word})", time.time())


def emergency_stop(s: Surfaces, actor: str, reason: str) -> list[SurfaceResult]:
    """Every surface, in the order that stops signing soonest: the API (in memory, at once),
    then the database flag, then the remote flag (both keep a restarted node stopped)."""
    return [
        _api(s, "emergency-stop", actor, reason),
        _db(s, flags.EMERGENCY_STOP, actor, reason),
        _ssm(s, pause=False),
    ]


def pause(s: Surfaces, actor: str, reason: str) -> list[SurfaceResult]:
    """The API; if it does not take the pause, the remote flag and the database flag."""
    first = _api(s, "pause", actor, reason)
    if first.ok:
        return [first]
    return [first, _ssm(s, pause=True), _db(s, flags.TRADING_PAUSED, actor, reason)]


def took_effect(results: list[SurfaceResult]) -> bool:
    return any(r.ok for r in results)
