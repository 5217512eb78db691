"""Which bearer tokens the API accepts: a fixed one (the config or ``EDGE_API_TOKEN``), or
the versions of a Secrets Manager secret that rotates.

During a rotation the API accepts AWSCURRENT and AWSPENDING (the rotation's test step calls
``/health`` with the pending token before it becomes current), and after it AWSPREVIOUS for a
grace period counted from the current version's creation, so that a client which read the
token just before the rotation finished is not refused. A new token is picked up without a
restart: the versions are read again on a timer, and at once when a request carries a token
none of them matches (at most once per ``min_gap_s``: a stream of wrong tokens costs one
Secrets Manager call per gap, and a right one waits for the gap's end rather than failing).

``TokenRing`` is pure (times passed in); ``SecretTokens`` is its asyncio shell, reading
through a blocking boto3 client in a thread. Every comparison is constant-time, and a
version shorter than the minimum token length is never accepted (an empty value must never
authenticate).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

from shared.config import MIN_API_TOKEN_LENGTH
from shared.secret_versions import (
    CURRENT,
    PENDING,
    PREVIOUS,
    RefreshGate,
    SecretUnreadable,
    Versions,
    read_versions,
)

log = logging.getLogger(__name__)


class Authenticator(Protocol):
    async def check(self, supplied: str) -> str | None:
        """The name of what ``supplied`` matched, or None (refused)."""
        ...

    def detail(self) -> dict[str, Any]: ...


class StaticToken:
    def __init__(self, token: str) -> None:
        if len(token) < MIN_API_TOKEN_LENGTH:
            raise ValueError(f"the API token must be at least {MIN_API_TOKEN_LENGTH} characters")
        self._expected = token.encode()
        self.accepted: Counter[str] = Counter()

    async def check(self, supplied: str) -> str | None:
        if hmac.compare_digest(supplied.encode(), self._expected):
            self.accepted["static"] += 1
            return "static"
        return None

    def detail(self) -> dict[str, Any]:
        return {"source": "config", "accepted": dict(self.accepted)}


class TokenRing:
    """The accepted tokens of one secret's versions (pure)."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self.versions: Versions | None = None

    def update(self, versions: Versions) -> bool:
        """Take new versions; False (and nothing changed) if the current one is unusable."""
        if len(versions.current.value) < MIN_API_TOKEN_LENGTH:
            return False
        changed = self.versions is None or self.versions.ids() != versions.ids()
        self.versions = versions
        return changed

    def match(self, supplied: str, now: float) -> str | None:
        v = self.versions
        if v is None:
            return None
        given = supplied.encode()
        candidates = [(CURRENT, v.current), (PENDING, v.pending)]
        if now - v.current.created <= self.grace_s:
            candidates.append((PREVIOUS, v.previous))
        found = None
        for stage, version in candidates:
            if version is None or len(version.value) < MIN_API_TOKEN_LENGTH:
                continue
            # every candidate compared, whatever matched first: no timing tells which
            if hmac.compare_digest(given, version.value.encode()) and found is None:
                found = stage
        return found


class SecretTokens:
    """The API's tokens from Secrets Manager, refreshed without a restart."""

    def __init__(
        self,
        client: Any,
        secret_id: str,
        *,
        grace_s: float,
        refresh_s: float,
        min_gap_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.secret_id = secret_id
        self.ring = TokenRing(grace_s)
        self.gate = RefreshGate(refresh_s, min_gap_s)
        self.clock = clock
        self._lock = asyncio.Lock()
        self._read_started = float("-inf")  # monotonic time the latest read began
        self.refreshes = 0
        self.refresh_failures = 0
        self.accepted: Counter[str] = Counter()

    async def start(self) -> None:
        """The first read; ``SecretUnreadable`` stops the start (no token, no API)."""
        await self._refresh()
        if self.ring.versions is None:
            raise SecretUnreadable(
                f"secret {self.secret_id!r} holds a token shorter than "
                f"{MIN_API_TOKEN_LENGTH} characters: the API would accept nothing"
            )

    async def check(self, supplied: str) -> str | None:
        arrived = time.monotonic()
        stage = self.ring.match(supplied, self.clock())
        if stage is None:
            await self._refresh_on_demand(arrived)
            stage = self.ring.match(supplied, self.clock())
        if stage is not None:
            self.accepted[stage] += 1
        return stage

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh on the timer until ``stop``."""
        while not stop.is_set():
            last = self.gate.last or self.clock()
            wait = max(0.05, last + self.gate.interval_s - self.clock())
            try:
                await asyncio.wait_for(stop.wait(), wait)
                return
            except TimeoutError:
                pass
            if self.gate.due(self.clock()):
                async with self._lock:
                    await self._refresh_quietly()

    async def _refresh_on_demand(self, arrived: float) -> None:
        async with self._lock:
            if self._read_started >= arrived:
                return  # a read that began after this request arrived: it is new enough
            delay = self.gate.wait_before_on_demand(self.clock())
            if delay > 0:
                await asyncio.sleep(delay)
            await self._refresh_quietly()

    async def _refresh_quietly(self) -> None:
        try:
            await self._refresh()
        except SecretUnreadable as err:
            self.refresh_failures += 1
            log.warning("API token not refreshed (the known versions stay accepted): %s", err)

    async def _refresh(self) -> None:
        self._read_started = time.monotonic()
        try:
            versions = await asyncio.to_thread(read_versions, self.client, self.secret_id)
        finally:
            self.gate.done(self.clock())
        self.refreshes += 1
        before = self.ring.versions
        if not self.ring.update(versions):
            self.refresh_failures += 1
            log.error(
                "secret %s: its current token is shorter than %d characters; not accepted",
                self.secret_id,
                MIN_API_TOKEN_LENGTH,
            )
            return
        v = self.ring.versions
        if v is not None and (before is None or before.ids() != v.ids()):
            log.info(
                "API tokens from %s: current %s, pending %s, previous %s",
                self.secret_id,
                *v.ids(),
            )

    def detail(self) -> dict[str, Any]:
        v = self.ring.versions
        return {
            "source": "secrets_manager",
            "secret": self.secret_id,
            "versions": dict(zip((CURRENT, PENDING, PREVIOUS), v.ids(), strict=True)) if v else {},
            "accepted": dict(self.accepted),
            "refreshes": self.refreshes,
            "refresh_failures": self.refresh_failures,
        }
