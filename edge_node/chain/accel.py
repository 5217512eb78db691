"""Build and load the compiled decoders (``_fastdecode.pyx``), never a stale build.

The extension is compiled with Cython and the system C compiler into
``edge_node/chain/__accel__/`` under a file name that carries the sha256 of the source (and of
the Cython and Python versions). Loading looks for exactly that name, so an edit of the source
without a rebuild simply means the pure-Python decoders are used: slower, never wrong. A build
that fails (no compiler on the machine) leaves the node working on the pure-Python decoders.

    python -m edge_node.chain.accel --build     # compile (scripts/setup runs this)
    python -m edge_node.chain.accel --check     # exit 1 unless the current build is loadable
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

SOURCE = Path(__file__).resolve().with_name("_fastdecode.pyx")
BUILD_DIR = SOURCE.parent / "__accel__"
MODULE_NAME = "_fastdecode"
DISABLE_ENV = "EDGE_NODE_PURE_PYTHON"


class BuildFailed(Exception):
    """The extension could not be compiled; the pure-Python decoders will be used."""


def _fingerprint() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        cython_version = version("cython")
    except PackageNotFoundError:
        cython_version = "none"
    h = hashlib.sha256(SOURCE.read_bytes())
    h.update(f"{cython_version}|{sys.version}|{sysconfig.get_config_var('EXT_SUFFIX')}".encode())
    return h.hexdigest()[:16]


def built_path() -> Path:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return BUILD_DIR / _fingerprint() / f"{MODULE_NAME}{suffix}"


def load() -> ModuleType | None:
    """The compiled module if it was built from the current source, else None."""
    if os.environ.get(DISABLE_ENV):
        return None
    path = built_path()
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(MODULE_NAME, path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:
        return None
    return module


def build() -> Path:
    """Compile the extension for this interpreter; returns its path."""
    target = built_path()
    if target.exists():
        return target
    compiler = sysconfig.get_config_var("CC") or "cc"
    if shutil.which(compiler.split()[0]) is None:
        raise BuildFailed(f"no C compiler ({compiler}) on PATH")
    try:
        from Cython.Build import cythonize  # noqa: F401  (presence check)
    except ImportError as err:
        raise BuildFailed("Cython is not installed (run ./scripts/setup)") from err
    with tempfile.TemporaryDirectory() as tmp:
        c_file = Path(tmp) / f"{MODULE_NAME}.c"
        cython = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "cython", "-3", str(SOURCE), "-o", str(c_file)],
            capture_output=True,
            text=True,
            check=False,
        )
        if cython.returncode != 0:
            raise BuildFailed(f"cython failed:\n{cython.stderr[-2000:]}")
        out = Path(tmp) / target.name
        cc = subprocess.run(  # noqa: S603
            [
                *compiler.split(),
                "-shared",
                "-fPIC",
                "-O2",
                "-I",
                sysconfig.get_paths()["include"],
                str(c_file),
                "-o",
                str(out),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if cc.returncode != 0:
            raise BuildFailed(f"{compiler} failed:\n{cc.stderr[-2000:]}")
        # Old builds (other sources or interpreters) are useless; keep the directory small.
        if BUILD_DIR.exists():
            shutil.rmtree(BUILD_DIR)
        target.parent.mkdir(parents=True)
        shutil.move(str(out), target)
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--build", action="store_true")
    group.add_argument("--check", action="store_true")
    args = ap.parse_args(argv)
    if args.build:
        try:
            path = build()
        except BuildFailed as err:
            print(f"accel: {err}", file=sys.stderr)
            print("accel: the node will use the pure-Python decoders (slower)", file=sys.stderr)
            return 1
        print(f"accel: compiled decoders at {path}")
        return 0
    if load() is None:
        print("accel: no current build; run `python -m edge_node.chain.accel --build`")
        return 1
    print(f"accel: compiled decoders in use ({built_path().name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
