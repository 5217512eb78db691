"""Running the installed ``edge-ops`` console script as an operator would (a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EDGE_OPS = Path(sys.executable).with_name("edge-ops")


def edge_ops(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``edge-ops`` console script (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(EDGE_OPS), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        input=input,
        check=False,
    )
