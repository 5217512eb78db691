"""What the probe's Lambda artifact must hold: its own package and the backups' catalog, which
it reads without the backup function's dependency group (no zstandard)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from functions.packaging import source_files

ROOT = Path(__file__).resolve().parents[3]

NO_ZSTD = """
import sys
sys.modules["zstandard"] = None  # importing it now fails, as in the probe's artifact
import functions.probe.handler, functions.probe.wiring, functions.probe.cli
from functions.backup import catalog
from functions.backup.objects import S3Objects
print("ok")
"""


def test_the_probe_artifact_carries_the_backup_catalog() -> None:
    files = {str(p) for p in source_files(ROOT, "probe")}
    assert {
        "functions/probe/handler.py",
        "functions/backup/catalog.py",
        "functions/backup/objects.py",
    } <= files
    assert not any(f.startswith(("edge_node/", "functions/fanout/")) for f in files)


def test_the_probe_reads_backups_without_the_backup_functions_dependencies() -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_ZSTD], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
