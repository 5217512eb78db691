"""Database credentials from a Secrets Manager secret that rotates, for an engine's new
connections, read again when the database refuses them (no restart).

The secret holds a URL or an RDS-style JSON object (``username``, ``password``, ``host``,
``port``, ``dbname``) as the rotation function keeps it, read as the functions read it
(``shared.db.logins``), each version once (a version's value never changes).
``attach(engine, login)`` hooks the engine's ``do_connect``: each new connection logs in with
the current credentials; refused, with the pending ones (a rotation between its setSecret and
finishSecret steps) and the previous ones (the alternating-users scheme keeps them working
until the next rotation); all refused, the versions are read again (at most once per
``min_gap_s``, waiting out the gap rather than failing) and tried once more. A read that
failed is not tried again before its gap is over: connection attempts meanwhile are refused at
once, so a failing Secrets Manager is not asked once per connection attempt.
A refusal that survives that is raised as the driver's error: the callers treat it as the
database being away (the store writer retries the batch with backoff), so nothing queued is
lost while a rotation settles.

Pooled connections that are already open keep working through a password change (PostgreSQL
checks a password only at login), so only new connections pay for any of this.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

from shared.db.logins import login_refused, url_from_secret
from shared.secret_versions import (
    RefreshGate,
    SecretUnreadable,
    Version,
    Versions,
    read_versions,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Logins:
    """One read of the secret, parsed: what new connections log in with until the next."""

    versions: Versions
    url: URL  # the current version's
    candidates: tuple[tuple[str, str], ...]  # (user, password) to try, current first

    def __repr__(self) -> str:  # never a password
        return f"Logins({', '.join(str(i) for i in self.versions.ids())})"


class RotatingLogin:
    """The versions of one credentials secret, shared by every thread opening connections."""

    def __init__(
        self,
        client: Any,
        secret_id: str,
        *,
        min_gap_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.secret_id = secret_id
        self.clock = clock
        self.sleep = sleep
        self.gate = RefreshGate(interval_s=float("inf"), min_gap_s=min_gap_s)
        self._lock = threading.Lock()
        self._read_started = float("-inf")
        self._last_read_failed = False
        # version id -> its URL, or why it names none: a version's value never changes
        self._parsed: dict[str, URL | str] = {}
        self.refreshes = 0
        self.logins = self._read()
        self.gate.done(self.clock())

    def _parse(self, version: Version) -> URL | str:
        """The URL ``version`` names, or why it names none; parsed once per version."""
        found = self._parsed.get(version.version_id)
        if found is None:
            try:
                found = url_from_secret(version.value, f"secret {self.secret_id!r}")
            except SecretUnreadable as err:
                found = str(err)
            self._parsed[version.version_id] = found
        return found

    def _read(self) -> Logins:
        versions = read_versions(self.client, self.secret_id)
        parsed = [
            self._parse(v)
            for v in (versions.current, versions.pending, versions.previous)
            if v is not None
        ]
        self._parsed = {i: self._parsed[i] for i in versions.ids() if i in self._parsed}
        current = parsed[0]
        if isinstance(current, str):
            raise SecretUnreadable(current)
        candidates: list[tuple[str, str]] = []
        for url in parsed:
            if isinstance(url, str):
                continue
            pair = (url.username or "", url.password or "")
            if pair not in candidates:
                candidates.append(pair)
        return Logins(versions, current, tuple(candidates))

    def url(self) -> URL:
        """The current credentials' URL (what the engine is created with)."""
        return self.logins.url

    def candidates(self) -> tuple[tuple[str, str], ...]:
        """(user, password) to try, current first."""
        return self.logins.candidates

    def refresh(self, since: float, tried: Logins | None = None) -> None:
        """Read the versions again, unless a read began after ``since`` (``time.monotonic``
        when the caller's login was refused: that read already knows what it needs) or the
        logins changed since the caller took ``tried`` (a read that began before the caller's
        attempt but ended after it: the caller has not tried what it found yet); at
        most once per gap, waiting out the gap after a read that succeeded. After one that
        failed, ``SecretUnreadable`` at once until the gap is over: a failing Secrets Manager
        is not asked again for every connection attempt."""
        with self._lock:
            if self._read_started >= since or (tried is not None and self.logins is not tried):
                return
            wait = self.gate.wait_before_on_demand(self.clock())
            if wait > 0 and self._last_read_failed:
                raise SecretUnreadable(
                    f"secret {self.secret_id!r}: the last read failed; "
                    f"not read again for {wait:.1f} s"
                )
            if wait > 0:
                self.sleep(wait)
            self._read_started = time.monotonic()
            self._last_read_failed = True  # until the read succeeds
            try:
                logins = self._read()
            finally:
                self.gate.done(self.clock())
            self.logins, self._last_read_failed = logins, False
            self.refreshes += 1
            log.info("database credentials read again from %s", self.secret_id)


_LOGINS: weakref.WeakKeyDictionary[Engine, RotatingLogin] = weakref.WeakKeyDictionary()


def login_of(engine: Engine) -> RotatingLogin | None:
    return _LOGINS.get(engine)


def engines_using(login: RotatingLogin) -> list[Engine]:
    """The engines whose connections log in with ``login`` (the store's, the journal's)."""
    return [engine for engine, used in list(_LOGINS.items()) if used is login]


def attach(engine: Engine, login: RotatingLogin) -> Engine:
    """Make ``engine``'s new connections use ``login``'s credentials (see the module)."""
    _LOGINS[engine] = login

    @event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        tried: set[tuple[str, str]] = set()
        refused: BaseException | None = None
        for attempt in range(2):
            since, seen = time.monotonic(), login.logins
            for user, password in seen.candidates:
                if (user, password) in tried:
                    continue
                tried.add((user, password))
                cparams["user"], cparams["password"] = user, password
                try:
                    return dialect.connect(*cargs, **cparams)
                except Exception as err:
                    if not login_refused(err):
                        raise
                    refused = err
            if attempt == 0:
                try:
                    login.refresh(since, seen)
                except SecretUnreadable as err:
                    log.warning("database credentials not read again: %s", err)
                    break
        assert refused is not None  # candidates() always holds the current version
        raise refused

    return engine
