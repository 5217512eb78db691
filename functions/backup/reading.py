"""Reading a backup back: the data object streamed, decompressed, and checked against the manifest.

Every check names what failed: the object's size (truncated or grown), its sha256 (altered),
zstd's own frame checksum, the archive's framing, and each table's name, columns, row count and
sha256 against the manifest. A reader that stops early (an exception) still hashes the rest of
the object, so a flipped byte is reported as an altered object, not only as its first symptom.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import IO

import zstandard

from functions.backup import layout
from functions.backup.archive import Event, Rows, TableEnd, TableStart, read_archive
from functions.backup.errors import BackupCorrupt
from functions.backup.manifest import Manifest, ObjectEntry
from functions.backup.objects import ObjectStore

READ_SIZE = 1024 * 1024


class HashingReader:
    """Counts and hashes the raw (compressed) bytes as they are read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._sha = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n)
        self._sha.update(data)
        self.size += len(data)
        return data

    def drain(self) -> None:
        while self.read(READ_SIZE):
            pass

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()


def object_problems(entry: ObjectEntry, size: int, sha256: str) -> list[str]:
    name = entry.name
    if size < entry.size:
        return [f"object {name} is truncated: {size} of {entry.size} bytes"]
    if size > entry.size:
        return [f"object {name} has {size} bytes, its manifest says {entry.size}"]
    if sha256 != entry.sha256:
        return [f"object {name} was altered: its sha256 differs from the manifest"]
    return []


def checked_events(events: Iterator[Event], manifest: Manifest) -> Iterator[Event]:
    """The archive's events, each table checked against the manifest's entry for it."""
    expected = iter(manifest.tables)
    for ev in events:
        if isinstance(ev, TableStart):
            entry = next(expected, None)
            if entry is None:
                raise BackupCorrupt([f"table {ev.name} is in the data but not in the manifest"])
            if entry.name != ev.name:
                raise BackupCorrupt(
                    [f"the data holds table {ev.name} where the manifest lists {entry.name}"]
                )
            if entry.columns != ev.columns:
                raise BackupCorrupt([f"table {ev.name}: its columns differ from the manifest's"])
        elif isinstance(ev, TableEnd):
            s = ev.summary
            entry = manifest.table(s.name)
            assert entry is not None
            if s.rows != entry.rows:
                raise BackupCorrupt(
                    [
                        f"table {s.name}: the data holds {s.rows} rows, "
                        f"the manifest says {entry.rows}"
                    ]
                )
            if s.sha256 != entry.sha256 or s.raw_bytes != entry.raw_bytes:
                raise BackupCorrupt([f"table {s.name}: its checksum differs from the manifest"])
        yield ev
    missing = [t.name for t in expected]
    if missing:
        raise BackupCorrupt([f"tables in the manifest but not in the data: {', '.join(missing)}"])


class BackupReader:
    """``with BackupReader(store, prefix, manifest) as r: for ev in r.events(): ...``.

    Leaving the block without an error checks the object's size and sha256; leaving it with a
    BackupCorrupt or a zstd error adds those findings to the problems raised.
    """

    def __init__(self, store: ObjectStore, prefix: str, manifest: Manifest) -> None:
        data = [o for o in manifest.objects if o.name == layout.DATA]
        if len(data) != 1:
            raise BackupCorrupt([f"the manifest lists no {layout.DATA} object"])
        self.entry = data[0]
        self._store = store
        self._key = layout.key(prefix, manifest.id, layout.DATA)
        self._manifest = manifest
        self._raw: IO[bytes] | None = None
        self._hashing: HashingReader | None = None

    def __enter__(self) -> BackupReader:
        self._raw = self._store.open(self._key)
        self._hashing = HashingReader(self._raw)
        return self

    def events(self) -> Iterator[Event]:
        assert self._hashing is not None
        dctx = zstandard.ZstdDecompressor()
        stream = dctx.stream_reader(
            self._hashing,  # type: ignore[arg-type]
            read_size=READ_SIZE,
            read_across_frames=False,
        )
        try:
            yield from checked_events(read_archive(stream), self._manifest)
        except zstandard.ZstdError as err:
            raise BackupCorrupt([f"object {layout.DATA} does not decompress ({err})"]) from None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        assert self._hashing is not None and self._raw is not None
        try:
            if exc is None or isinstance(exc, BackupCorrupt):
                self._hashing.drain()
                found = object_problems(self.entry, self._hashing.size, self._hashing.sha256)
                if exc is not None:
                    # The object's own finding (truncated, altered) first: it names the cause.
                    raise BackupCorrupt(
                        found + [p for p in exc.problems if p not in found]
                    ) from None
                if found:
                    raise BackupCorrupt(found)
        finally:
            self._raw.close()


def rows_only(events: Iterator[Event]) -> Iterator[tuple[TableStart, Iterator[bytes]]]:
    """Group the events by table: (start, its row chunks). Each group must be read to its end."""
    for ev in events:
        if isinstance(ev, TableStart):
            yield ev, _rows(events)


def _rows(events: Iterator[Event]) -> Iterator[bytes]:
    for ev in events:
        if isinstance(ev, Rows):
            yield ev.data
        elif isinstance(ev, TableEnd):
            return
