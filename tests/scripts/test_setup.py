"""Set-up must install exactly what the locks pin, whatever the registries serve, and change no
tracked file. These checks read the committed files; CI runs set-up itself before them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lock() -> dict[str, dict[str, Any]]:
    data = json.loads((ROOT / "package-lock.json").read_text())
    packages: dict[str, dict[str, Any]] = data["packages"]
    return packages


def _reuse_environments(clone: Path) -> None:
    """Point the clone at this checkout's environments without letting set-up change them.

    `.venv` is shared read-only: a stand-in uv answers the version check and syncs nothing (a
    real `uv sync` in the clone would re-point this checkout's editable install at the clone).
    """
    for name in (".venv", "edge_node/chain/__accel__"):
        if (ROOT / name).exists():
            (clone / name).symlink_to(ROOT / name)
    version = subprocess.run(
        [str(ROOT / ".tools/uv/bin/uv"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    uv = clone / ".tools/uv/bin/uv"
    uv.parent.mkdir(parents=True)
    uv.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "{version}"\nexit 0\n')
    uv.chmod(0o755)


def test_lock_lists_every_optional_platform_package() -> None:
    """`npm ci` refuses a lock that lacks a platform's optional binary; ours has all of them."""
    packages = _lock()
    missing = []
    for path, meta in packages.items():
        for name, version in dict(meta.get("optionalDependencies", {}) or {}).items():
            entry = packages.get(f"node_modules/{name}")
            if entry is None or entry.get("version") != version:
                missing.append(f"{path} -> {name}@{version}")
    assert missing == []
    # The anvil package's own platforms are all there (the cause of issue 6).
    anvil = packages["node_modules/@foundry-rs/anvil"]
    assert len(anvil["optionalDependencies"]) >= 5


def test_lock_matches_package_json() -> None:
    manifest = json.loads((ROOT / "package.json").read_text())
    root = _lock()[""]
    assert root.get("dependencies") == manifest["dependencies"]
    for name, version in manifest["dependencies"].items():
        assert _lock()[f"node_modules/{name}"]["version"] == version


def test_setup_uses_npm_ci_and_isolated_pip() -> None:
    text = (ROOT / "scripts" / "setup").read_text()
    commands = [line.strip() for line in text.splitlines() if not line.strip().startswith("#")]
    assert any(line.startswith("npm ci ") for line in commands)
    assert not any(line.startswith("npm install") for line in commands)
    assert "--isolated" in text
    assert "PIP_CONFIG_FILE=/dev/null" in text
    assert "uv sync --frozen" in text


@pytest.mark.skipif(
    not (ROOT / "node_modules" / ".package-lock.sha256").exists(), reason="set-up has not run"
)
@pytest.mark.parametrize("npm_touches_the_lock", [True, False], ids=["lock-rewritten", "clean"])
def test_setup_fails_exactly_when_it_changed_a_tracked_file(
    tmp_path: Path, npm_touches_the_lock: bool
) -> None:
    """The guard at the end of set-up: a run whose npm step rewrites the lock fails, naming why;
    the same run with an npm that leaves the lock alone succeeds.

    A stand-in npm installs the tools (hard links to this checkout's) and, in the failing case,
    appends to package-lock.json, playing a set-up step gone wrong; the Python steps reuse this
    checkout's environments, so the run takes seconds and needs no network."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    _reuse_environments(clone)
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    npm = fake_bin / "npm"
    npm.write_text(
        "#!/bin/sh\n"
        f"rm -rf node_modules && cp -al '{ROOT / 'node_modules'}' node_modules\n"
        "rm -f node_modules/.package-lock.sha256\n"
        + ("echo ' ' >> package-lock.json\n" if npm_touches_the_lock else "")
    )
    npm.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake_bin}:{os.environ['PATH']}"}
    proc = subprocess.run(
        ["bash", "scripts/setup"], cwd=clone, env=env, capture_output=True, text=True, check=False
    )
    if npm_touches_the_lock:
        assert proc.returncode == 1, proc.stderr
        assert "setup: set-up changed a tracked file" in proc.stderr
        assert "setup: ready" not in proc.stdout
    else:
        assert proc.returncode == 0, proc.stderr
        assert "setup: ready" in proc.stdout
