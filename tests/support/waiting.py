"""Waiting in tests: on a condition with a generous deadline, never a fixed sleep.

The suite runs on a heavily loaded shared machine, where a process, anvil or PostgreSQL can
take seconds to answer. A test waits for what it needs to see (``eventually``), fails with what
it waited for when the deadline passes, and returns as soon as the condition holds, so a
generous deadline costs nothing when the machine is quick. A test that proves that something
did *not* happen waits for a positive sentinel that comes after it, never for a while.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# For anything involving another process, anvil or a database: seconds on a loaded machine.
WITHIN_S = 30.0


class NotWithin(AssertionError):
    """What a test waited for did not happen before its deadline: the test fails."""


def _failure(what: str, within: float, diagnostics: Callable[[], str] | None) -> NotWithin:
    message = f"timed out after {within:g}s waiting for {what}"
    if diagnostics is not None:
        message += "\n" + diagnostics()
    return NotWithin(message)


def eventually(
    check: Callable[[], T | None],
    within: float = WITHIN_S,
    what: str = "the condition",
    *,
    every: float = 0.05,
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """Calls ``check`` until it returns something truthy, and returns that; fails the test
    (``NotWithin``, with ``diagnostics()`` if given) after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _failure(what, within, diagnostics)
        time.sleep(every)


async def eventually_async(
    check: Callable[[], T],
    within: float = WITHIN_S,
    what: str = "the condition",
    *,
    every: float = 0.05,
    in_thread: bool = False,
    diagnostics: Callable[[], str] | None = None,
) -> T:
    """``eventually`` on the event loop: the loop runs between checks. ``in_thread`` runs a
    check that blocks (a request to anvil, a database read) on a worker thread."""
    deadline = time.monotonic() + within
    while True:
        value = await asyncio.to_thread(check) if in_thread else check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise _failure(what, within, diagnostics)
        await asyncio.sleep(every)
