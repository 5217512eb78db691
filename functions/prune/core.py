"""The prune: archive old rows to S3 (Parquet, one partition per day), verify, then delete.

For every batch, in this order:
1. the batch is selected (at most ``batch_size`` rows of one table, in key order) and encoded;
2. an in-flight marker naming the object it is about to write is committed in the database
   (``system_config`` row ``prune_in_flight``);
3. the object is written to S3 (server-side encryption requested) with its row count and
   checksum as metadata, read back, decoded, and checked (columns, row count, checksum);
4. the batch's rows are deleted and the marker cleared in ONE short transaction.

Killed anywhere, nothing is lost and nothing is archived twice: before step 4 commits the rows
are all still in the database and the marker names the only object that may hold them, which
the next run deletes first (``recover``); once step 4 has committed, the object is the rows'
one archived copy. Deletes are short transactions of one batch, so the node's writer waits at
most that long (it retries on a busy database).
"""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, select, text, tuple_

from functions.common.errors import Corrupt, Unavailable
from functions.common.s3url import S3Location
from functions.prune import archive
from functions.prune.tables import KEEP_BLOCKS, Horizon, Spec
from functions.prune.tables import by_name as tables_by_name
from shared.db import schema

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)

IN_FLIGHT = "prune_in_flight"
FAULT_ENV = "EDGE_OPS_PRUNE_FAULT"  # fault tests: "after_upload" SIGKILLs the process there
DEFAULT_BATCH = 5000

Progress = Callable[[str, int], None]  # (table, rows archived so far in that table)


@dataclass(slots=True)
class TableResult:
    rows: int = 0
    objects: int = 0
    bytes: int = 0


@dataclass(slots=True)
class PruneResult:
    horizon: str
    archive: str
    tables: dict[str, TableResult] = field(default_factory=dict)
    recovered: str | None = None  # the object of an interrupted run, deleted first
    dry_run: bool = False

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "horizon": self.horizon,
            "archive": self.archive,
            "dry_run": self.dry_run,
            "rows": self.rows,
            "recovered": self.recovered,
            "tables": {
                n: {"rows": t.rows, "objects": t.objects, "bytes": t.bytes}
                for n, t in self.tables.items()
            },
        }


def _fault(point: str) -> None:
    if os.environ.get(FAULT_ENV) == point:
        log.critical("fault injection: SIGKILL at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)


def horizon(engine: Engine, now: datetime, older_than: timedelta) -> Horizon:
    """The cut-off, and per chain the highest block that may go (the checkpoint's block minus
    the largest reorg window)."""
    c = schema.checkpoints
    with engine.connect() as conn:
        rows = conn.execute(
            select(c.c.chain_id, func.min(c.c.block_number)).group_by(c.c.chain_id)
        ).all()
    safe = {int(chain): int(block) - KEEP_BLOCKS for chain, block in rows}
    return Horizon(now.astimezone(UTC) - older_than, {k: v for k, v in safe.items() if v >= 0})


def _read_marker(conn: Connection) -> dict[str, Any] | None:
    t = schema.system_config
    value = conn.execute(select(t.c.value).where(t.c.key == IN_FLIGHT)).scalar_one_or_none()
    return None if value is None else dict(orjson.loads(value))


def _clear_marker(conn: Connection) -> None:
    t = schema.system_config
    conn.execute(delete(t).where(t.c.key == IN_FLIGHT))


def _set_marker(engine: Engine, marker: dict[str, Any]) -> None:
    t = schema.system_config
    with engine.begin() as conn:
        _clear_marker(conn)
        conn.execute(
            t.insert().values(
                key=IN_FLIGHT, value=orjson.dumps(marker).decode(), updated_by="edge-ops prune"
            )
        )


def recover(engine: Engine, s3: S3Client) -> str | None:
    """Undo an interrupted batch: delete the object it may have written (its rows are all
    still in the database, since their delete and the marker's clearing commit together)."""
    with engine.connect() as conn:
        marker = _read_marker(conn)
    if marker is None:
        return None
    url = f"s3://{marker['bucket']}/{marker['key']}"
    log.warning("an earlier prune stopped mid-batch; removing its unconfirmed object %s", url)
    try:
        s3.delete_object(Bucket=marker["bucket"], Key=marker["key"])
    except Exception as err:
        raise Unavailable(f"cannot remove the interrupted prune's object {url}: {err}") from err
    with engine.begin() as conn:
        _clear_marker(conn)
    return url


@contextmanager
def _single_run(engine: Engine) -> Any:
    """One prune at a time on PostgreSQL (an advisory lock for the run); SQLite's file is one
    host's, where the schedule runs one."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        got = conn.execute(
            text("SELECT pg_try_advisory_lock(hashtext(current_schema() || '.edge_ops_prune'))")
        ).scalar_one()
        conn.commit()
        if not got:
            raise Unavailable("another prune is running on this database: try again later")
        try:
            yield
        finally:
            conn.execute(
                text("SELECT pg_advisory_unlock(hashtext(current_schema() || '.edge_ops_prune'))")
            )
            conn.commit()


def prune(
    engine: Engine,
    s3: S3Client,
    dest: S3Location,
    *,
    now: datetime,
    older_than: timedelta,
    batch_size: int = DEFAULT_BATCH,
    tables: list[str] | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> PruneResult:
    specs = tables_by_name(tables)
    with _single_run(engine):
        h = horizon(engine, now, older_than)
        result = PruneResult(h.at.isoformat(), dest.url(), dry_run=dry_run)
        if not dry_run:
            result.recovered = recover(engine, s3)
        for spec in specs:
            tally = result.tables.setdefault(spec.name, TableResult())
            if dry_run:
                tally.rows = _count(engine, spec, h)
                continue
            while True:
                rows = _batch(engine, spec, h, batch_size)
                if not rows:
                    break
                for day, group in _by_day(spec, rows).items():
                    size = _archive_batch(engine, s3, dest, spec, h, day, group)
                    tally.rows += len(group)
                    tally.objects += 1
                    tally.bytes += size
                    if progress is not None:
                        progress(spec.name, tally.rows)
    return result


def _count(engine: Engine, spec: Spec, h: Horizon) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(spec.table).where(spec.eligible(h))
            ).scalar_one()
        )


def _batch(engine: Engine, spec: Spec, h: Horizon, limit: int) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(spec.table).where(spec.eligible(h)).order_by(*spec.key_cols()).limit(limit)
        ).all()
    return [tuple(r) for r in rows]


def _by_day(spec: Spec, rows: Sequence[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    names = [c.name for c in spec.table.columns]
    out: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        day = spec.day_of(dict(zip(names, row, strict=True))).strftime("%Y-%m-%d")
        out.setdefault(day, []).append(row)
    return out


def _archive_batch(
    engine: Engine,
    s3: S3Client,
    dest: S3Location,
    spec: Spec,
    h: Horizon,
    day: str,
    rows: list[tuple[Any, ...]],
) -> int:
    names = [c.name for c in spec.table.columns]
    idx = [names.index(k) for k in spec.key]
    keys = [tuple(r[i] for i in idx) for r in rows]
    first, last = ("_".join(str(v) for v in k) for k in (keys[0], keys[-1]))
    # A unique suffix: SQLite may hand a deleted row's id out again, and an archive object
    # must never be overwritten by another batch's.
    key = dest.key(spec.name, f"day={day}", f"{first}-{last}-{uuid.uuid4().hex[:12]}.parquet")
    body = archive.encode(spec.table, rows)
    digest = archive.checksum(rows)
    _set_marker(engine, {"bucket": dest.bucket, "key": key, "table": spec.name})
    try:
        s3.put_object(
            Bucket=dest.bucket,
            Key=key,
            Body=body,
            ServerSideEncryption="AES256",
            ContentType="application/vnd.apache.parquet",
            Metadata={"rows": str(len(rows)), "sha256-rows": digest, "table": spec.name},
        )
        back = s3.get_object(Bucket=dest.bucket, Key=key)["Body"].read()
    except Exception as err:
        raise Unavailable(f"S3 refused the archive of {spec.name} ({day}): {err}") from err
    columns, read_rows = archive.decode(back)
    if columns != names or len(read_rows) != len(rows) or archive.checksum(read_rows) != digest:
        raise Corrupt(
            f"the archive s3://{dest.bucket}/{key} does not read back as written "
            f"({len(read_rows)} of {len(rows)} rows); nothing was deleted"
        )
    _fault("after_upload")
    with engine.begin() as conn:
        cols = spec.key_cols()
        match = cols[0].in_([k[0] for k in keys]) if len(cols) == 1 else tuple_(*cols).in_(keys)
        deleted = conn.execute(delete(spec.table).where(match, spec.eligible(h))).rowcount
        if deleted != len(rows):
            # Raising inside the transaction rolls the delete back; the marker stays, so the
            # next run removes the object before archiving these rows again.
            raise Corrupt(
                f"{spec.name}: {deleted} of {len(rows)} archived rows matched at delete "
                "(rows changed meanwhile); nothing was deleted"
            )
        _clear_marker(conn)
    return len(body)
