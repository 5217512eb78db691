"""The store's size and the free space of the volume the node writes to, sampled on a thread.

Seed 000 watches the database's size (archive above 1000 MB) and the disk (warn above 70%
full); both need file-system calls or a database query, which never run on the event loop:
a daemon thread samples every ``interval_s`` and leaves the figures in ``Metrics`` for the
next scrape. A sample that fails leaves the figure unknown (NaN), never a stale number.
"""

from __future__ import annotations

import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)

SAMPLE_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class Usage:
    store_bytes: float | None
    volume_free_bytes: float | None
    volume_size_bytes: float | None


def sqlite_file(store_url: str) -> Path | None:
    """The SQLite store's file, or None (PostgreSQL, or an in-memory database)."""
    url = make_url(store_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def sqlite_bytes(path: Path) -> int:
    """The database file with its write-ahead log and shared-memory index: what it occupies."""
    total = 0
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            total += p.stat().st_size
        except FileNotFoundError:
            continue
    return total


def measure(engine: Engine, store_url: str, volume: Path) -> Usage:
    """One sample (blocking I/O). Each figure on its own: one that fails is None."""
    path = sqlite_file(store_url)
    store: float | None = None
    try:
        if path is not None:
            store = float(sqlite_bytes(path))
        elif engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
            store = float(size) if size is not None else None
    except Exception as err:
        log.warning("store size not measured: %s", str(err).splitlines()[0][:200])
    free = total = None
    try:
        usage = shutil.disk_usage(volume)
        free, total = float(usage.free), float(usage.total)
    except OSError as err:
        log.warning("free space of %s not measured: %s", volume, err.strerror or err)
    return Usage(store, free, total)


def volume_of(store_url: str) -> Path:
    """Where the node's data is: the SQLite file's directory, else the working directory
    (with PostgreSQL the node still writes its logs there; the database server's own disk is
    watched where it runs)."""
    path = sqlite_file(store_url)
    if path is None:
        return Path.cwd()
    return path.resolve().parent


class UsageSampler:
    def __init__(
        self, engine: Engine, store_url: str, metrics: Metrics, interval_s: float = SAMPLE_EVERY_S
    ) -> None:
        self.engine = engine
        self.store_url = store_url
        self.volume = volume_of(store_url)
        self.metrics = metrics
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-usage", daemon=True)

    def sample(self) -> Usage:
        u = measure(self.engine, self.store_url, self.volume)
        m = self.metrics
        m.store_size_bytes = u.store_bytes
        m.volume_free_bytes = u.volume_free_bytes
        m.volume_size_bytes = u.volume_size_bytes
        return u

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)
