"""Database credentials from a Secrets Manager secret that rotates, for an engine's new
connections, read again when the database refuses them (no restart).

The secret holds a URL or an RDS-style JSON object (``username``, ``password``, ``host``,
``port``, ``dbname``) as the rotation function keeps it, read as the functions read it
(``shared.db.logins``). ``attach(engine, login)`` hooks the engine's ``do_connect``: each new
connection logs in with the current credentials; refused, with the pending ones (a rotation
between its setSecret and finishSecret steps) and the previous ones (the alternating-users
scheme keeps them working until the next rotation); all refused, the versions are read again
(at most once per ``min_gap_s``, waiting out the gap rather than failing) and tried once more.
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
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import URL

from shared.db.logins import login_refused, url_from_secret
from shared.secret_versions import RefreshGate, SecretUnreadable, Versions, read_versions

log = logging.getLogger(__name__)


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
        self.generation = 0
        self.refreshes = 0
        self.versions = self._read()

    def _read(self) -> Versions:
        versions = read_versions(self.client, self.secret_id)
        url_from_secret(versions.current.value, f"secret {self.secret_id!r}")  # usable?
        self.gate.done(self.clock())
        return versions

    def url(self) -> URL:
        """The current credentials' URL (what the engine is created with)."""
        return url_from_secret(self.versions.current.value, f"secret {self.secret_id!r}")

    def candidates(self) -> list[tuple[str, str]]:
        """(user, password) to try, current first."""
        found: list[tuple[str, str]] = []
        v = self.versions
        for version in (v.current, v.pending, v.previous):
            if version is None:
                continue
            try:
                url = url_from_secret(version.value, f"secret {self.secret_id!r}")
            except SecretUnreadable:
                continue
            pair = (url.username or "", url.password or "")
            if pair not in found:
                found.append(pair)
        return found

    def refresh(self, since: float) -> None:
        """Read the versions again, unless a read began after ``since`` (``time.monotonic``
        when the caller's login was refused: that read already knows what it needs); at
        most once per gap."""
        with self._lock:
            if self._read_started >= since:
                return
            wait = self.gate.wait_before_on_demand(self.clock())
            if wait > 0:
                self.sleep(wait)
            self._read_started = time.monotonic()
            try:
                self.versions = self._read()
                self.refreshes += 1
                log.info("database credentials read again from %s", self.secret_id)
            finally:
                self.generation += 1


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
            since = time.monotonic()
            for user, password in login.candidates():
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
                    login.refresh(since)
                except SecretUnreadable as err:
                    log.warning("database credentials not read again: %s", err)
                    break
        assert refused is not None  # candidates() always holds the current version
        raise refused

    return engine
