"""The manifest: written last, the only marker that a backup exists, and what it is checked against.

Also the verification record stored beside it. Both are JSON; reading one that does not parse or
does not fit the model raises ``BackupCorrupt`` naming the object, never a pydantic traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from functions.backup.errors import BackupCorrupt

FORMAT = "edge-backup/1"

Dialect = Literal["postgresql", "sqlite"]
VerificationState = Literal["verified", "failed"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TableEntry(_Model):
    name: str
    columns: list[str]
    order_by: list[str]
    rows: int = Field(ge=0)
    raw_bytes: int = Field(ge=0)  # COPY text bytes before compression
    sha256: str  # of those bytes, in dump order


class ObjectEntry(_Model):
    name: str  # file name inside the backup's directory
    size: int = Field(ge=0)
    sha256: str  # of the stored (compressed) bytes
    parts: int = Field(ge=0)


class Manifest(_Model):
    format: Literal["edge-backup/1"] = "edge-backup/1"
    id: str
    dialect: Dialect
    server_version: str
    revision: str | None  # Alembic revision of the schema the rows belong to
    source: str  # the database URL, password hidden
    started_at: datetime
    finished_at: datetime
    compression: Literal["zstd"] = "zstd"
    tables: list[TableEntry]
    sequences: dict[str, int] = Field(default_factory=dict)  # "table.column" -> last value
    objects: list[ObjectEntry]
    raw_bytes: int
    stored_bytes: int
    reason: str = "scheduled"  # scheduled | manual | pre-restore

    def table(self, name: str) -> TableEntry | None:
        return next((t for t in self.tables if t.name == name), None)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


class Verification(_Model):
    state: VerificationState
    checked_at: datetime
    kind: Literal["verify", "drill"] = "verify"
    problems: list[str] = Field(default_factory=list)
    duration_s: float | None = None
    rto_s: float | None = None
    scratch: str | None = None


def dump_json(model: BaseModel) -> bytes:
    return model.model_dump_json(indent=2).encode()


def load_manifest(raw: bytes, where: str) -> Manifest:
    try:
        return Manifest.model_validate_json(raw)
    except ValidationError as err:
        first = err.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "document"
        raise BackupCorrupt([f"manifest {where} is unreadable ({loc}: {first['msg']})"]) from None


def load_verification(raw: bytes, where: str) -> Verification:
    try:
        return Verification.model_validate_json(raw)
    except ValidationError as err:
        raise BackupCorrupt(
            [f"verification record {where} is unreadable: {err.errors()[0]['msg']}"]
        ) from None
