"""Build one Lambda deployment artifact (a zip) per function package: ``make functions``.

Each artifact holds, at its root (Lambda puts the root on ``sys.path``):
- the function's dependencies: the ``lambda`` dependency group of pyproject.toml plus the
  function's own ``lambda-<name>`` group if there is one, exported from uv.lock with hashes
  (``uv export --frozen``: the pins tested here, nothing resolved afresh) and installed as wheels
  built for the Lambda platform, not this machine's (``uv pip install --python-platform
  x86_64-manylinux_2_34 --python-version 3.12 --only-binary :all: --require-hashes``; uv, not pip,
  because pip evaluates environment markers against the interpreter running it, and this one
  is 3.11);
- ``shared/``, ``functions/__init__.py``, ``functions/common/`` and ``functions/<name>/``, and
  never ``edge_node/``, tests, ``__pycache__`` or compiled bytecode (Lambda's file system is
  read-only: 3.11 bytecode would never be used by the 3.12 runtime).

The zip is reproducible (sorted entries, fixed timestamps). Sizes are printed and checked
against Lambda's limits: 50 MiB zipped for a direct upload, 250 MiB unzipped.

The selection (which functions, which files, which groups, the limits) is pure and tested
without building; a slow test builds one artifact and imports its handler from the unzipped
tree in a fresh interpreter with nothing else on its path.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = "python3.12"
PYTHON_VERSION = "3.12"
# The python3.12 runtime runs on Amazon Linux 2023 (glibc 2.34): wheels tagged up to
# manylinux_2_34 run there. manylinux2014 (glibc 2.17) alone would miss packages that publish
# only newer wheels.
PLATFORM = "x86_64-manylinux_2_34"
ARCHITECTURE = "x86_64"
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
COMMON_GROUP = "lambda"
NOT_FUNCTIONS = frozenset({"common", "cli"})
SOURCE_TREES = ("shared", "functions/common")
# Another function's package whose code a function imports, carried in its artifact too (without
# that package's dependency group: what the importing function needs goes in its own group): the
# probe reads the backups' catalog, which needs no compression library (tests/functions/probe
# checks it); the prune runbook runs functions/prune's core.
USES: dict[str, tuple[str, ...]] = {"probe": ("backup",), "runbook": ("prune",)}
_EXCLUDED_DIRS = frozenset({"__pycache__", "tests", "test", ".mypy_cache", ".pytest_cache"})
_EXCLUDED_SUFFIXES = (".pyc", ".pyo")
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class BuildFailed(Exception):
    """An artifact could not be built or is over Lambda's limits; nothing was deployed."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where the artifact runs: Lambda's runtime by default, this interpreter for a smoke test."""

    python_version: str = PYTHON_VERSION
    platform: str = PLATFORM


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    path: Path
    zipped_bytes: int
    unzipped_bytes: int
    files: int

    @property
    def problems(self) -> list[str]:
        return limit_problems(self.zipped_bytes, self.unzipped_bytes)


def discover(source_root: Path) -> list[str]:
    """The function packages: ``functions/<name>/handler.py``, except common and cli."""
    found = []
    for handler in sorted((source_root / "functions").glob("*/handler.py")):
        name = handler.parent.name
        if name in NOT_FUNCTIONS or not name.isidentifier():
            continue
        found.append(name)
    return found


def groups_for(name: str, dependency_groups: Iterable[str]) -> list[str]:
    """The dependency groups a function installs: the common one, then its own if declared."""
    groups = set(dependency_groups)
    if COMMON_GROUP not in groups:
        raise BuildFailed(f"pyproject.toml has no [dependency-groups] {COMMON_GROUP!r}")
    own = f"{COMMON_GROUP}-{name}"
    return [COMMON_GROUP, own] if own in groups else [COMMON_GROUP]


def is_excluded(relative: Path) -> bool:
    parts = relative.parts
    return (
        any(p in _EXCLUDED_DIRS or p.startswith(".") for p in parts)
        or relative.suffix in _EXCLUDED_SUFFIXES
        or relative.name.endswith("~")
    )


def source_files(source_root: Path, name: str) -> list[Path]:
    """The repository files an artifact holds (relative paths), sorted."""
    trees = [*SOURCE_TREES, f"functions/{name}", *(f"functions/{u}" for u in USES.get(name, ()))]
    files = [Path("functions/__init__.py")]
    for tree in trees:
        base = source_root / tree
        if not base.is_dir():
            raise BuildFailed(f"{tree}/ is missing under {source_root}")
        files += [
            p.relative_to(source_root)
            for p in base.rglob("*")
            if p.is_file() and not is_excluded(p.relative_to(source_root))
        ]
    leaked = [f for f in files if f.parts[0] == "edge_node"]
    if leaked:  # cannot happen with the trees above; a guard against a future edit
        raise BuildFailed(f"edge_node files selected: {leaked[:3]}")
    return sorted(set(files))


def limit_problems(zipped: int, unzipped: int) -> list[str]:
    problems = []
    if zipped > MAX_ZIPPED:
        problems.append(f"zipped {mib(zipped)} is over Lambda's {mib(MAX_ZIPPED)} direct upload")
    if unzipped > MAX_UNZIPPED:
        problems.append(f"unzipped {mib(unzipped)} is over Lambda's {mib(MAX_UNZIPPED)}")
    return problems


def mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


def _dependency_groups(project_root: Path) -> list[str]:
    data = tomllib.loads((project_root / "pyproject.toml").read_text())
    return list(data.get("dependency-groups", {}))


def _uv(project_root: Path) -> str:
    pinned = project_root / ".tools/uv/bin/uv"
    found = str(pinned) if pinned.exists() else shutil.which("uv")
    if not found:
        raise BuildFailed("uv not found: run `make setup` first")
    return found


def _run(args: Sequence[str], cwd: Path) -> str:
    # Our own argument lists (uv and its options), never a shell.
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BuildFailed(f"{Path(args[0]).name} {args[1]} failed:\n{done.stderr.strip()}")
    return done.stdout


def export_requirements(project_root: Path, groups: Sequence[str]) -> str:
    """The pinned, hashed requirements of ``groups`` from uv.lock (fails if the lock is stale)."""
    args = [_uv(project_root), "export", "--frozen", "--format", "requirements.txt"]
    args += ["--no-emit-project", "--no-default-groups", "--no-header", "--no-annotate"]
    for group in groups:
        args += ["--only-group", group]
    return _run(args, project_root)


def install_dependencies(
    project_root: Path, requirements: str, into: Path, target: Target, cache: Path
) -> None:
    """Install the requirements for ``target`` into ``into``, reusing an identical earlier set."""
    key = hashlib.sha256(f"{target}\n{requirements}".encode()).hexdigest()[:16]
    cached = cache / key
    if not (cached / ".complete").exists():
        shutil.rmtree(cached, ignore_errors=True)
        cached.mkdir(parents=True)
        req = cache / f"{key}.txt"
        req.write_text(requirements)
        _run(
            [
                _uv(project_root),
                "pip",
                "install",
                "--quiet",
                "--target",
                str(cached),
                "--python-platform",
                target.platform,
                "--python-version",
                target.python_version,
                "--only-binary",
                ":all:",
                "--no-deps",
                "--require-hashes",
                "--no-compile",
                "-r",
                str(req),
            ],
            project_root,
        )
        # Console scripts (their shebang names this machine's interpreter) and bytecode have no
        # use in Lambda.
        shutil.rmtree(cached / "bin", ignore_errors=True)
        for pycache in list(cached.rglob("__pycache__")):
            shutil.rmtree(pycache, ignore_errors=True)
        (cached / ".complete").touch()
    shutil.copytree(cached, into, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".complete"))


def write_zip(tree: Path, zip_path: Path) -> tuple[int, int, int]:
    """Zip ``tree`` reproducibly; returns (zipped bytes, unzipped bytes, files)."""
    files = sorted(
        p for p in tree.rglob("*") if p.is_file() and not is_excluded(p.relative_to(tree))
    )
    unzipped = 0
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            executable = os.access(path, os.X_OK)
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            data = path.read_bytes()
            unzipped += len(data)
            zf.writestr(info, data, compresslevel=9)
    tmp.replace(zip_path)
    return zip_path.stat().st_size, unzipped, len(files)


def build(
    name: str,
    *,
    project_root: Path = ROOT,
    source_root: Path = ROOT,
    out_dir: Path | None = None,
    target: Target = Target(),
) -> Artifact:
    out_dir = out_dir or project_root / "dist" / "functions"
    work = out_dir / ".build" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    groups = groups_for(name, _dependency_groups(project_root))
    requirements = export_requirements(project_root, groups)
    install_dependencies(project_root, requirements, work, target, out_dir / ".deps")
    for rel in source_files(source_root, name):
        dest = work / rel
        if dest.exists():
            raise BuildFailed(f"{rel} collides with a file of a dependency")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source_root / rel, dest)
    zipped, unzipped, count = write_zip(work, out_dir / f"{name}.zip")
    shutil.rmtree(work, ignore_errors=True)
    return Artifact(name, out_dir / f"{name}.zip", zipped, unzipped, count)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build-functions",
        description=f"Build one Lambda artifact per function package ({RUNTIME}, {ARCHITECTURE}).",
    )
    parser.add_argument("names", nargs="*", help="functions to build (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "dist" / "functions")
    parser.add_argument("--source-root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--python-version", default=PYTHON_VERSION, help="target Python (default: the runtime's)"
    )
    parser.add_argument("--platform", default=PLATFORM, help="target platform for wheels")
    args = parser.parse_args(argv)
    available = discover(args.source_root)
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        print(f"build-functions: no function package {unknown} (have {available})", file=sys.stderr)
        return 2
    if not names:
        print("build-functions: no function packages (functions/<name>/handler.py) to build")
        return 0
    target = Target(args.python_version, args.platform)
    failed = False
    print(f"{'function':<16} {'zipped':>10} {'unzipped':>10} {'files':>6}  artifact")
    for name in names:
        try:
            artifact = build(name, source_root=args.source_root, out_dir=args.out, target=target)
        except BuildFailed as err:
            print(f"build-functions: {name}: {err}", file=sys.stderr)
            failed = True
            continue
        print(
            f"{name:<16} {mib(artifact.zipped_bytes):>10} {mib(artifact.unzipped_bytes):>10} "
            f"{artifact.files:>6}  {artifact.path}"
        )
        for problem in artifact.problems:
            print(f"build-functions: {name}: {problem}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
