"""Rows <-> Parquet, and the checksum that proves an archive holds exactly the rows deleted.

Amounts (256-bit integers) are archived as decimal strings, exact; times as UTC microsecond
timestamps. The checksum is a SHA-256 over a canonical text form of every value, computed the
same way from the database's rows and from the rows read back out of the Parquet file, so a
value that did not survive the round trip changes it.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import BigInteger, Boolean, DateTime, Float, Integer, Table

from shared.db.schema import Uint256


def arrow_type(column_type: Any) -> pa.DataType:
    if isinstance(column_type, Uint256):
        return pa.string()
    if isinstance(column_type, Boolean):
        return pa.bool_()
    if isinstance(column_type, BigInteger | Integer):
        return pa.int64()
    if isinstance(column_type, Float):
        return pa.float64()
    if isinstance(column_type, DateTime):
        return pa.timestamp("us", tz="UTC")
    return pa.string()


def arrow_schema(table: Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])


def _utc(v: datetime) -> datetime:
    return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)


def _to_arrow(value: Any, kind: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_string(kind) and not isinstance(value, str):
        return str(value)
    if pa.types.is_timestamp(kind):
        return _utc(value)
    return value


def canonical(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    return str(value)


def checksum(rows: Sequence[Sequence[Any]]) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(orjson.dumps([canonical(v) for v in row]))
        h.update(b"\n")
    return h.hexdigest()


def encode(table: Table, rows: Sequence[Sequence[Any]]) -> bytes:
    """Rows (in the table's column order) as one compressed Parquet file."""
    schema = arrow_schema(table)
    columns = [
        pa.array([_to_arrow(r[i], f.type) for r in rows], type=f.type) for i, f in enumerate(schema)
    ]
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_arrays(columns, schema=schema), buf, compression="zstd")
    return buf.getvalue()


def decode(data: bytes) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a Parquet file."""
    t = pq.read_table(io.BytesIO(data))
    columns = [t.column(i).to_pylist() for i in range(t.num_columns)]
    return t.column_names, list(zip(*columns, strict=True))
