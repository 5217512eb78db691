"""Trading control: one state machine (running, paused, stopped) that every surface goes through.

The CLI, the HTTP admin API, the database flag, the remote (SSM) flag and the node's own risk
limits all end up in ``Control``; nothing else changes whether the node may sign. Listeners
hear of each transition synchronously, so an emergency stop takes effect before the call that
pulled it returns (the trader stops signing and cancels what is pending).

- ``pause`` stops new trades; pending transactions carry on.
- ``emergency_stop`` stops new trades and cancels pending transactions.
- ``resume`` needs an explicit operator action and clears the persisted flags first, so the
  pollers do not stop the node again at once; a flag read that started before the resume (and
  so may have seen the flags still set) is never applied after it.

``ControlService`` is the shell: it persists the state as the database and remote flags,
writes the audit log, and polls both flags (a flag set by an operator with SQL or by a runbook
stops the node within ``control.poll_interval_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine

from shared import control_flags as flags
from shared.config import ControlConfig

log = logging.getLogger(__name__)


class TradingState(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Transition:
    state: TradingState
    previous: TradingState
    actor: str
    reason: str
    at: float


class ResumeRefused(Exception):
    """Resuming is not possible now (a flag could not be cleared); the state is unchanged."""


Listener = Callable[[Transition], None]


class Control:
    def __init__(self, initial: TradingState = TradingState.RUNNING) -> None:
        self.state = initial
        self.reason = "start-up"
        self.actor = "edge-node"
        self.since = time.time()
        self.listeners: list[Listener] = []
        # Bumped on every transition; ``resumed_at`` is the generation of the last resume.
        # A flag read tagged with the generation it started at is stale if a resume came since.
        self.generation = 0
        self.resumed_at = 0

    @property
    def can_trade(self) -> bool:
        return self.state is TradingState.RUNNING

    def resumed_since(self, generation: int) -> bool:
        """True if trading was resumed after ``generation``: what was read before is stale."""
        return self.resumed_at > generation

    def _move(self, state: TradingState, actor: str, reason: str) -> Transition | None:
        if state is self.state:
            return None
        t = Transition(state, self.state, actor, reason, time.time())
        self.state, self.actor, self.reason, self.since = state, actor, reason, t.at
        self.generation += 1
        if state is TradingState.RUNNING:
            self.resumed_at = self.generation
        level = logging.CRITICAL if state is TradingState.STOPPED else logging.WARNING
        log.log(level, "trading %s by %s: %s", state.value, actor, reason)
        for listener in self.listeners:
            listener(t)
        return t

    def pause(self, actor: str, reason: str) -> Transition | None:
        if self.state is TradingState.STOPPED:
            return None  # already further than paused
        return self._move(TradingState.PAUSED, actor, reason)

    def emergency_stop(self, actor: str, reason: str) -> Transition | None:
        return self._move(TradingState.STOPPED, actor, reason)

    def resume(self, actor: str, reason: str) -> Transition | None:
        return self._move(TradingState.RUNNING, actor, reason)

    def snapshot(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "since": self.since,
            "actor": self.actor,
            "reason": self.reason,
        }


class ControlService:
    """Persists and polls the flags; the one place surfaces call to change the state."""

    def __init__(
        self,
        control: Control,
        engine: Engine,
        cfg: ControlConfig,
        ssm_client: Any | None = None,
    ) -> None:
        self.control = control
        self.engine = engine
        self.cfg = cfg
        self.ssm = ssm_client
        self.last_poll_error: str | None = None
        self._poll_errors: dict[str, str] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self._ssm_read: asyncio.Future[flags.RemoteState] | None = None
        self._ssm_read_started = 0  # the control generation when that read started

    # --- surfaces -------------------------------------------------------------------------------

    async def pause(self, actor: str, reason: str) -> Transition | None:
        t = self.control.pause(actor, reason)
        if t is not None:
            await self._persist(flags.TRADING_PAUSED, True, actor, reason)
        return t

    async def emergency_stop(self, actor: str, reason: str) -> Transition | None:
        t = self.control.emergency_stop(actor, reason)  # takes effect first, persisted after
        if t is not None:
            await self._persist(flags.EMERGENCY_STOP, True, actor, reason)
            if self.ssm is not None and self.cfg.ssm_parameter:
                try:
                    await asyncio.to_thread(
                        flags.write_ssm_flag, self.ssm, self.cfg.ssm_parameter, True
                    )
                except Exception as err:  # the stop holds in memory and in the database
                    log.error("could not set the remote stop flag: %s", err)
        return t

    async def resume(self, actor: str, reason: str) -> Transition | None:
        try:
            await asyncio.to_thread(
                flags.write_db_flag, self.engine, flags.EMERGENCY_STOP, False, actor, reason
            )
            await asyncio.to_thread(
                flags.write_db_flag, self.engine, flags.TRADING_PAUSED, False, actor, reason
            )
            if self.ssm is not None and self.cfg.ssm_parameter:
                await asyncio.to_thread(
                    flags.write_ssm_flag, self.ssm, self.cfg.ssm_parameter, False
                )
        except Exception as err:
            raise ResumeRefused(f"could not clear the stop flags: {err}") from err
        return self.control.resume(actor, reason)

    def pause_now(self, actor: str, reason: str) -> None:
        """Pause at once, from synchronous code (the trader's risk gate), and persist it so
        that a restart stays paused until an operator resumes."""
        if self.control.pause(actor, reason) is not None:
            task = asyncio.get_running_loop().create_task(
                self._persist(flags.TRADING_PAUSED, True, actor, reason)
            )
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _persist(self, key: str, value: bool, actor: str, reason: str) -> None:
        try:
            await asyncio.to_thread(flags.write_db_flag, self.engine, key, value, actor, reason)
        except Exception as err:  # the state holds in memory; the operator sees the error
            log.error("could not persist %s=%s: %s", key, value, err)

    # --- start-up and polling -------------------------------------------------------------------

    async def load(self) -> None:
        """Start in the state the persisted flags say (a stopped bot stays stopped)."""
        db = await asyncio.to_thread(flags.read_db_flags, self.engine)
        remote, _ = await self._read_remote()
        if remote is None:
            log.error("the remote stop flag is not readable at start: %s", self._poll_errors)
        stop = remote is flags.RemoteState.STOP
        if db.emergency_stop or stop:
            who = "remote flag" if stop else f"database flag ({db.updated_by or 'unknown'})"
            self.control.emergency_stop(who, "stop flag set at start-up")
        elif db.paused or remote is flags.RemoteState.PAUSE:
            who = "database flag" if db.paused else "remote flag"
            self.control.pause(who, "pause flag set at start-up")

    async def _read_remote(self) -> tuple[flags.RemoteState | None, int]:
        """The SSM flag (None if it could not be read this round) and the control generation
        at which the read started. One read at a time: a read that hangs is waited for
        (bounded) across rounds, never piled up, so its answer may be older than this round."""
        if self.ssm is None or not self.cfg.ssm_parameter:
            return flags.RemoteState.CLEAR, self.control.generation
        task = self._ssm_read
        if task is None or task.done():
            self._ssm_read_started = self.control.generation
            task = self._ssm_read = asyncio.ensure_future(
                asyncio.to_thread(flags.read_ssm_state, self.ssm, self.cfg.ssm_parameter)
            )
        started = self._ssm_read_started
        done, _ = await asyncio.wait({task}, timeout=max(0.2, self.cfg.poll_interval_s))
        if not done:
            self._poll_errors["ssm"] = "SSM read taking longer than the poll interval"
            return None, started
        try:
            value = task.result()
        except Exception as err:
            self._poll_errors["ssm"] = f"SSM: {type(err).__name__}: {err}"[:300]
            return None, started
        self._poll_errors.pop("ssm", None)
        return value, started

    async def poll_once(self) -> None:
        """Reads both flags, each on its own: one that cannot be read (not a stop; the
        operator sees it in /health) never hides the other. A read that started before a
        resume is dropped: it may have seen the flags the resume was clearing (the next
        round reads them again)."""
        started = self.control.generation
        try:
            db: flags.Flags | None = await asyncio.to_thread(flags.read_db_flags, self.engine)
            self._poll_errors.pop("database", None)
        except Exception as err:
            db = None
            self._poll_errors["database"] = f"database: {type(err).__name__}: {err}"[:300]
        remote, remote_started = await self._read_remote()
        self.last_poll_error = "; ".join(self._poll_errors.values()) or None
        if self.control.resumed_since(remote_started):
            remote = None
        if self.control.resumed_since(started):
            db = None
        if remote is flags.RemoteState.STOP:
            self.control.emergency_stop("remote flag", f"SSM {self.cfg.ssm_parameter} is set")
        elif db is not None and db.emergency_stop:
            self.control.emergency_stop(
                f"database flag ({db.updated_by or 'unknown'})", "system_config.emergency_stop"
            )
        elif db is not None and db.paused:
            self.control.pause("database flag", "system_config.trading_paused")
        elif remote is flags.RemoteState.PAUSE:
            self.control.pause("remote flag", f"SSM {self.cfg.ssm_parameter} asks for a pause")

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.cfg.poll_interval_s)
