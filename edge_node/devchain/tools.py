"""Where the npm-installed development tools live, and whether they work.

The anvil local chain and the solc compiler come from npm (pinned by package-lock.json) so a
fresh checkout needs nothing beyond ``./scripts/setup``. Nothing here ever downloads anything:
a missing tool is reported with the command that installs it.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO_ROOT / "node_modules"
SETUP_HINT = "run ./scripts/setup (npm ci) to install the npm tools"
ANVIL_HINT = "run ./scripts/setup (npm ci) to install the anvil npm package"
SOLC_HINT = "run ./scripts/setup (npm ci) to install the solc npm package"

# The @foundry-rs packages name platforms the way Node does, but architectures as Go does.
_OS_NAMES = {"linux": "linux", "darwin": "darwin", "win32": "win32"}
_ARCH_NAMES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "x64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}
_VERSION_TIMEOUT_S = 30.0


class ToolMissing(RuntimeError):
    """A development tool is not installed; the message says how to install it."""


def _platform_package() -> str:
    os_name = _OS_NAMES.get(sys.platform)
    if os_name is None and sys.platform.startswith("linux"):
        os_name = "linux"
    arch = _ARCH_NAMES.get(platform.machine().lower())
    if os_name is None or arch is None:
        raise ToolMissing(
            f"anvil is not published for this platform ({sys.platform}/{platform.machine()}); "
            "set ANVIL_BIN to an anvil 1.7.1 binary"
        )
    return f"@foundry-rs/anvil-{os_name}-{arch}"


def anvil_binary() -> Path:
    """The anvil executable itself (not npm's node wrapper, which would swallow SIGKILL)."""
    override = os.environ.get("ANVIL_BIN")
    if override:
        path = Path(override)
        if not path.is_file():
            raise ToolMissing(f"ANVIL_BIN={override} does not exist")
        return path
    exe = "anvil.exe" if sys.platform == "win32" else "anvil"
    path = NODE_MODULES / _platform_package() / "bin" / exe
    if not path.is_file():
        raise ToolMissing(f"anvil not found at {path}; {ANVIL_HINT}")
    return path


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise ToolMissing(f"node (Node.js >= 18) is not on PATH; install it, then {SOLC_HINT}")
    return node


def solc_command() -> list[str]:
    """Command prefix for the npm solc CLI (solcjs), to be followed by its arguments."""
    script = NODE_MODULES / "solc" / "solc.js"
    if not script.is_file():
        raise ToolMissing(f"the solc npm package is missing ({script}); {SOLC_HINT}")
    return [node_binary(), str(script)]


def _first_line(cmd: list[str]) -> str:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argv built from discovered tool paths
            cmd, capture_output=True, text=True, timeout=_VERSION_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"{' '.join(cmd)} failed to run: {exc}; {SETUP_HINT}") from exc
    if done.returncode != 0:
        raise ToolMissing(
            f"{' '.join(cmd)} exited with {done.returncode}: {done.stderr.strip()}; {SETUP_HINT}"
        )
    lines = [line.strip() for line in done.stdout.splitlines() if line.strip()]
    if not lines:
        raise ToolMissing(f"{' '.join(cmd)} printed no version; {SETUP_HINT}")
    return lines[0]


def anvil_version() -> str:
    """E.g. ``anvil Version: 1.7.1``."""
    return _first_line([str(anvil_binary()), "--version"])


def solc_version() -> str:
    """The compiler's own version string, e.g. ``0.8.37+commit.f401782d.Emscripten.clang``."""
    return _first_line([*solc_command(), "--version"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="print tool versions, fail if absent")
    args = parser.parse_args(argv)
    if not args.check:
        parser.print_help()
        return 2
    try:
        print(f"anvil: {anvil_version()} ({anvil_binary()})")
        print(f"solc:  {solc_version()}")
    except ToolMissing as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
