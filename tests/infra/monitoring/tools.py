"""The command-line tools the monitoring tests run: Debian's promtool and amtool.

Missing locally: the test skips (set-up installs them as root with apt). Under CI (CI=true)
a missing tool fails the test instead, so the gate can never pass without running them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.prerequisites import missing

MONITORING = Path(__file__).resolve().parents[3] / "infra" / "monitoring"


def require(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not found (Debian: prometheus / prometheus-alertmanager; scripts/setup)")
    return path


def run(name: str, *args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require(name), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
