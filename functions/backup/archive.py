"""The data object's format: every table's rows as PostgreSQL COPY text, in frames, zstd-compressed.

Inside the (single) zstd frame, with its content checksum on, the stream is::

    b"EDGEBKP1\\n" then frames: kind (1 byte) | length (4 bytes, big-endian) | payload
    T  {"table", "columns", "order_by"}      a table begins
    D  whole rows of COPY text, each ending in "\\n"   (rows never straddle frames)
    E  {"table", "rows", "raw_bytes", "sha256"}   a table ends
    Z  {"tables": n}                         the stream ends; anything missing it is truncated

COPY text escapes newlines inside values, so a row is exactly one line and rows are counted by
counting newlines. The reader recomputes every table's count and sha256 and checks them against
the table's end frame; the caller checks them against the manifest as well.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from functions.backup.errors import BackupCorrupt

MAGIC = b"EDGEBKP1\n"
_HEAD = struct.Struct(">cI")
MAX_FRAME = 64 * 1024 * 1024  # a longer claimed length means the stream is damaged
CHUNK = 1024 * 1024  # rows are gathered into data frames of about this size


@dataclass(slots=True)
class TableSummary:
    name: str
    columns: list[str]
    order_by: list[str]
    rows: int = 0
    raw_bytes: int = 0
    sha256: str = ""
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    def add(self, data: bytes | bytearray) -> None:
        self._hash.update(data)
        self.rows += data.count(b"\n")
        self.raw_bytes += len(data)

    def close(self) -> None:
        self.sha256 = self._hash.hexdigest()


class ArchiveWriter:
    """Writes the frames to ``out`` (a compressor's writer); rows are handed in as COPY text."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._buf = bytearray()
        self._table: TableSummary | None = None
        self.tables: list[TableSummary] = []
        out.write(MAGIC)

    def _frame(self, kind: bytes, payload: bytes | bytearray) -> None:
        if len(payload) > MAX_FRAME:
            raise ValueError(f"a frame of {len(payload)} bytes is larger than {MAX_FRAME}")
        self._out.write(_HEAD.pack(kind, len(payload)))
        self._out.write(payload)

    def begin_table(self, name: str, columns: list[str], order_by: list[str]) -> None:
        assert self._table is None, "a table is already open"
        self._table = TableSummary(name, columns, order_by)
        self._frame(
            b"T", json.dumps({"table": name, "columns": columns, "order_by": order_by}).encode()
        )

    def write_rows(self, data: bytes | bytearray | memoryview) -> None:
        """Whole rows (each ending in a newline); gathered into frames of about CHUNK bytes."""
        self._buf += data
        if len(self._buf) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._buf:
            assert self._table is not None
            self._table.add(self._buf)
            self._frame(b"D", self._buf)
            self._buf = bytearray()

    def end_table(self) -> TableSummary:
        self._flush()
        table = self._table
        assert table is not None, "no table is open"
        table.close()
        summary = {
            "table": table.name,
            "rows": table.rows,
            "raw_bytes": table.raw_bytes,
            "sha256": table.sha256,
        }
        self._frame(b"E", json.dumps(summary).encode())
        self.tables.append(table)
        self._table = None
        return table

    def finish(self) -> None:
        assert self._table is None, "a table is still open"
        self._frame(b"Z", json.dumps({"tables": len(self.tables)}).encode())


@dataclass(frozen=True, slots=True)
class TableStart:
    name: str
    columns: list[str]
    order_by: list[str]


@dataclass(frozen=True, slots=True)
class Rows:
    data: bytes


@dataclass(frozen=True, slots=True)
class TableEnd:
    summary: TableSummary


Event = TableStart | Rows | TableEnd


def _read_exactly(src: IO[bytes], n: int, what: str) -> bytes:
    parts: list[bytes] = []
    left = n
    while left:
        piece = src.read(left)
        if not piece:
            raise BackupCorrupt([f"the data ends early (truncated) while reading {what}"])
        parts.append(piece)
        left -= len(piece)
    return b"".join(parts) if len(parts) != 1 else parts[0]


def _json(payload: bytes, what: str) -> dict[str, Any]:
    try:
        doc = json.loads(payload)
    except ValueError:
        raise BackupCorrupt([f"the data is damaged: {what} frame is not JSON"]) from None
    if not isinstance(doc, dict):
        raise BackupCorrupt([f"the data is damaged: {what} frame is not an object"])
    return doc


def read_archive(src: IO[bytes]) -> Iterator[Event]:
    """The events of a decompressed stream, each table checked against its own end frame."""
    if _read_exactly(src, len(MAGIC), "the header") != MAGIC:
        raise BackupCorrupt(["the data is not an edge backup (bad header)"])
    table: TableSummary | None = None
    seen = 0
    while True:
        kind, length = _HEAD.unpack(_read_exactly(src, _HEAD.size, "a frame header"))
        if length > MAX_FRAME:
            raise BackupCorrupt([f"the data is damaged: a frame claims {length} bytes"])
        where = f"table {table.name}" if table else "the stream"
        payload = _read_exactly(src, length, where)
        if kind == b"T" and table is None:
            doc = _json(payload, "a table start")
            try:
                table = TableSummary(str(doc["table"]), list(doc["columns"]), list(doc["order_by"]))
            except (KeyError, TypeError):
                raise BackupCorrupt(
                    ["the data is damaged: a table start frame is incomplete"]
                ) from None
            yield TableStart(table.name, table.columns, table.order_by)
        elif kind == b"D" and table is not None:
            if not payload.endswith(b"\n"):
                raise BackupCorrupt([f"the data is damaged: a row of table {table.name} is cut"])
            table.add(payload)
            yield Rows(payload)
        elif kind == b"E" and table is not None:
            doc = _json(payload, "a table end")
            table.close()
            if doc.get("rows") != table.rows:
                said = doc.get("rows")
                raise BackupCorrupt(
                    [f"table {table.name}: {table.rows} rows read, its end says {said}"]
                )
            if doc.get("sha256") != table.sha256:
                raise BackupCorrupt([f"table {table.name}: its rows do not match their checksum"])
            seen += 1
            yield TableEnd(table)
            table = None
        elif kind == b"Z" and table is None:
            doc = _json(payload, "the end")
            if doc.get("tables") != seen:
                raise BackupCorrupt(
                    [f"the data holds {seen} tables, its end frame says {doc.get('tables')}"]
                )
            if src.read(1):
                raise BackupCorrupt(["the data has bytes after its end frame"])
            return
        else:
            raise BackupCorrupt([f"the data is damaged: unexpected frame {kind!r} in {where}"])
