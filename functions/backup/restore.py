"""Restoring a backup into a database: checked, all or nothing, migrated to head.

PostgreSQL: one transaction drops the store's tables, runs the migrations to the backup's
revision, loads every table with COPY, sets the sequences, reads every table back against the
manifest, migrates to head and commits; any failure rolls all of it back and the target is as
it was. SQLite: the same steps build a new file beside the target, which then replaces it.

A target that holds rows is refused unless ``force``; then ``pre_backup`` (a backup of the
target, as seed 001's restore-database.sh copies the current database first) runs before
anything is touched, and a failure of that backup stops the restore.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy import text

from functions.backup import pg
from functions.backup import sqlite as lite
from functions.backup.dump import Progress, dialect_of
from functions.backup.errors import BackupCorrupt, SourceUnavailable, TargetNotEmpty, WrongKind
from functions.backup.load import (
    compare_postgres,
    compare_sqlite,
    load_postgres,
    load_sqlite,
    migrate_on,
)
from functions.backup.manifest import Manifest
from functions.backup.objects import ObjectStore
from functions.backup.reading import BackupReader
from shared.db import schema
from shared.db.engine import create_engine, head_revision, migrate, redact_url

PreBackup = Callable[[], str]  # takes a backup of the target, returns its id


@dataclass(frozen=True, slots=True)
class RestoreResult:
    backup_id: str
    target: str
    tables: int
    rows: int
    seconds: float
    revision: str
    pre_restore_backup: str | None = None


def _known_tables(manifest: Manifest) -> set[str]:
    return {t.name for t in manifest.tables} | set(schema.metadata.tables) | {"alembic_version"}


def restore(
    store: ObjectStore,
    prefix: str,
    manifest: Manifest,
    target_url: str,
    *,
    force: bool = False,
    pre_backup: PreBackup | None = None,
    progress: Progress | None = None,
) -> RestoreResult:
    if dialect_of(target_url) != manifest.dialect:
        raise WrongKind(
            f"backup {manifest.id} is of a {manifest.dialect} store, "
            f"{redact_url(target_url)} is not"
        )
    if manifest.revision is None:
        raise BackupCorrupt([f"backup {manifest.id}: the manifest names no schema revision"])
    started = time.monotonic()
    if manifest.dialect == "sqlite":
        pre = _restore_sqlite(store, prefix, manifest, target_url, force, pre_backup, progress)
    else:
        pre = _restore_postgres(store, prefix, manifest, target_url, force, pre_backup, progress)
    return RestoreResult(
        manifest.id, redact_url(target_url), len(manifest.tables), manifest.rows,
        round(time.monotonic() - started, 3), head_revision(), pre,
    )  # fmt: skip


def _refuse_or_backup(
    holds_rows: bool, target_url: str, force: bool, pre_backup: PreBackup | None
) -> str | None:
    if not holds_rows:
        return None
    if not force:
        raise TargetNotEmpty(
            f"{redact_url(target_url)} holds data; pass --force to replace it "
            "(it is backed up first)"
        )
    return pre_backup() if pre_backup else None


def _restore_postgres(
    store: ObjectStore, prefix: str, manifest: Manifest, target_url: str, force: bool,
    pre_backup: PreBackup | None, progress: Progress | None,
) -> str | None:  # fmt: skip
    engine = create_engine(target_url)
    try:
        with engine.connect() as conn:
            raw: psycopg.Connection = conn.connection.driver_connection  # type: ignore[assignment]
            known = _known_tables(manifest)
            present = [s.name for s in pg.tables(raw) if s.name in known]
            holds_rows = any(
                raw.execute(
                    psycopg.sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(
                        psycopg.sql.Identifier(n)
                    )
                ).fetchone()[0]  # type: ignore[index]
                for n in present
                if n != "alembic_version"
            )
            conn.rollback()
            pre = _refuse_or_backup(holds_rows, target_url, force, pre_backup)
            with conn.begin():
                for name in [*present, "alembic_version"]:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
                migrate_on(conn, manifest.revision)  # type: ignore[arg-type]
                with BackupReader(store, prefix, manifest) as reader:
                    load_postgres(raw, manifest, reader.events(), progress)
                problems = compare_postgres(raw, manifest)
                if problems:
                    raise BackupCorrupt(problems)
                migrate_on(conn, "head")
            return pre
    except psycopg.OperationalError as err:
        raise SourceUnavailable(f"the target database failed: {str(err).strip()}") from err
    except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as err:
        # Rows that match their checksums but do not load: not this schema's rows.
        first = str(err).strip().splitlines()[0]
        raise BackupCorrupt(
            [f"the rows do not load into the schema at {manifest.revision}: {first}"]
        ) from err
    finally:
        engine.dispose()


def _sqlite_holds_rows(path: Path, known: set[str]) -> bool:
    if not path.exists():
        return False
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return any(
            conn.execute(f"SELECT EXISTS (SELECT 1 FROM {lite.quote(s.name)})").fetchone()[0]  # noqa: S608
            for s in lite.tables(conn)
            if s.name in known
        )
    finally:
        conn.close()


def _remove_db(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        p.unlink(missing_ok=True)


def _restore_sqlite(
    store: ObjectStore, prefix: str, manifest: Manifest, target_url: str, force: bool,
    pre_backup: PreBackup | None, progress: Progress | None,
) -> str | None:  # fmt: skip
    path = lite.path_of(target_url)
    pre = _refuse_or_backup(
        _sqlite_holds_rows(path, _known_tables(manifest)), target_url, force, pre_backup
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.restore-{secrets.token_hex(4)}")
    try:
        engine = create_engine(f"sqlite:///{tmp}")
        try:
            migrate(engine, manifest.revision)  # type: ignore[arg-type]
        finally:
            engine.dispose()
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("PRAGMA synchronous=OFF")  # the file is not in use until it is renamed
            with conn:
                with BackupReader(store, prefix, manifest) as reader:
                    try:
                        load_sqlite(conn, manifest, reader.events(), progress)
                    except sqlite3.IntegrityError as err:
                        raise BackupCorrupt([f"the rows do not load: {err}"]) from err
                problems = compare_sqlite(conn, manifest)
                if problems:
                    raise BackupCorrupt(problems)
        finally:
            conn.close()
        engine = create_engine(f"sqlite:///{tmp}")
        try:
            migrate(engine)
        finally:
            engine.dispose()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        # The old file's WAL must not be replayed into the new one.
        for side in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            side.unlink(missing_ok=True)
        os.replace(tmp, path)
        return pre
    finally:
        _remove_db(tmp)
