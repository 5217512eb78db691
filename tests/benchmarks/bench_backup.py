"""Backup of a PostgreSQL store beside ``pg_dump -Fc`` of the same data, at two sizes, and the
restore plus verification of the larger backup. Prints one JSON object.

- The store: generated swaps (1,000,000 by default; a quarter of that as the small size), with
  the candles built from them, trades, their journal, the reorg window's blocks and a
  checkpoint (tests/functions/backup/store_data.py), in a fresh schema of the PostgreSQL at
  DATABASE_URL (127.0.0.1:5432/test otherwise), dropped afterwards.
- Ours: ``create_backup`` (COPY in one REPEATABLE READ snapshot, zstd, sha256 per table and per
  object, multipart parts of 8 MiB) into a local directory sink (``DirObjects``: the same part
  protocol as S3, written to disk, so the figure is the dump's and not an emulator's).
- Baseline: ``pg_dump -Fc -n <schema>`` of the same schema to a file, same run.
- Each side runs in its own process: seconds, bytes written and peak resident memory (ru_maxrss)
  are that process's alone. Memory flat means the peak barely moves from the small size to the
  large one.
- ``restore_verify_s``: ``verify`` of the large backup: a scratch database created on the same
  server, the backup restored into it (migrations, COPY, sequences), every table read back and
  compared with the manifest, migrated to head, dropped. Target: under 60 s.

    .venv/bin/python tests/benchmarks/bench_backup.py [--swaps 1000000] [--small 250000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_RESTORE_VERIFY_S = 60.0

OURS = """
import json, sys, time
from pathlib import Path
from functions.backup.create import create_backup
from functions.backup.objects import DirObjects

def hwm_mb():  # peak RSS of this process image (VmHWM; ru_maxrss would count the forked parent)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

url, root = sys.argv[1], sys.argv[2]
before = hwm_mb()
t = time.perf_counter()
m = create_backup(url, DirObjects(Path(root)), "bench")
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "bytes": m.stored_bytes, "raw_bytes": m.raw_bytes,
                  "rows": m.rows, "id": m.id, "peak_rss_mb": hwm_mb(),
                  "rss_after_imports_mb": before}))
"""

BASELINE = """
import json, subprocess, sys, time
import psutil
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
ps, peak = psutil.Process(proc.pid), 0
while proc.poll() is None:
    try:
        peak = max(peak, ps.memory_info().rss)
    except psutil.Error:
        pass
    time.sleep(0.005)
seconds = time.perf_counter() - t
assert proc.returncode == 0, proc.returncode
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak / 2**20}))
"""


def _py(code: str, *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=3600,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    return (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


def _pg_dump(base: str, schema: str, out: Path) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    u = make_url(base)
    cmd = [
        "pg_dump",
        "-Fc",
        "-n",
        schema,
        "-f",
        str(out),
        "-h",
        u.host or "127.0.0.1",
        "-p",
        str(u.port or 5432),
        "-U",
        u.username or "postgres",
        u.database or "postgres",
    ]
    env_pw = {"PGPASSWORD": u.password} if u.password else {}
    os.environ.update(env_pw)
    result = _py(BASELINE, *cmd)
    result["bytes"] = out.stat().st_size
    return result


def _round(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}


def measure(base: str, swaps: int, work: Path) -> dict[str, Any]:
    from sqlalchemy import create_engine, text

    from shared.db.engine import normalize_url
    from tests.functions.backup.store_data import populate

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalize_url(base), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = _schema_url(base, schema)
        t = time.perf_counter()
        populate(url, swaps)
        with admin.connect() as conn:
            conn.execute(text(f'ANALYZE "{schema}".swaps'))
        generated_s = time.perf_counter() - t
        ours = _py(OURS, url, str(work / "sink"))
        baseline = _pg_dump(base, schema, work / f"{schema}.dump")
        return {
            "swaps": swaps,
            "rows": ours.pop("rows"),
            "raw_bytes": ours.pop("raw_bytes"),
            "generated_s": round(generated_s, 1),
            "backup_id": ours.pop("id"),
            "ours": _round(ours),
            "pg_dump": _round(baseline),
        }
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def restore_verify(base: str, work: Path, backup_id: str) -> dict[str, Any]:
    from functions.backup import catalog
    from functions.backup.objects import DirObjects
    from functions.backup.verify import verify

    store = DirObjects(work / "sink")
    entry = catalog.find(catalog.scan(store, "bench"), backup_id)
    t = time.perf_counter()
    result = verify(store, "bench", entry, base)
    return {
        "restore_verify_s": round(time.perf_counter() - t, 2),
        "state": result.verification.state,
        "problems": result.verification.problems,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--swaps", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=250_000)
    args = ap.parse_args()
    base = os.environ.get("DATABASE_URL") or DEFAULT_PG
    with tempfile.TemporaryDirectory(prefix="bench-backup-") as tmp:
        work = Path(tmp)
        small = measure(base, args.small, work)
        large = measure(base, args.swaps, work)
        rv = restore_verify(base, work, large["backup_id"])
    ratio = large["pg_dump"]["seconds"] / large["ours"]["seconds"]
    growth = large["ours"]["peak_rss_mb"] - small["ours"]["peak_rss_mb"]
    print(
        json.dumps(
            {
                "sink": "local directory (DirObjects: the multipart parts written to disk)",
                "sizes": {str(args.small): small, str(args.swaps): large},
                "speed_ratio_vs_pg_dump": round(ratio, 2),
                "bytes_ratio_vs_pg_dump": round(
                    large["ours"]["bytes"] / large["pg_dump"]["bytes"], 3
                ),
                "ours_peak_rss_growth_mb_small_to_large": round(growth, 1),
                "restore_verify_s": rv["restore_verify_s"],
                "restore_verify_state": rv["state"],
                "restore_verify_problems": rv["problems"],
                "targets": {
                    "speed_ratio_vs_pg_dump": ">= 1",
                    "restore_verify_s": f"< {TARGET_RESTORE_VERIFY_S}",
                    "memory": "flat in the database's size",
                },
                "meets_targets": {
                    "speed": ratio >= 1,
                    "restore_verify": rv["restore_verify_s"] < TARGET_RESTORE_VERIFY_S,
                    "memory_flat": growth < 16,
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
