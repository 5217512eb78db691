"""The Lambda artifacts: what goes in (pure, fast) and one real build (slow: needs PyPI)."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from functions import packaging
from functions.packaging import (
    MAX_UNZIPPED,
    MAX_ZIPPED,
    BuildFailed,
    Target,
    discover,
    export_requirements,
    groups_for,
    limit_problems,
    source_files,
    write_zip,
)

ROOT = packaging.ROOT


def _touch(root: Path, *paths: str) -> None:
    for rel in paths:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("# x\n")


def test_discover_finds_function_packages_only(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "functions/__init__.py",
        "functions/backup/handler.py",
        "functions/report/handler.py",
        "functions/common/handler.py",  # never a function
        "functions/cli/handler.py",
        "functions/notes/core.py",  # no handler
        "functions/bad-name/handler.py",  # not importable
    )
    assert discover(tmp_path) == ["backup", "report"]


def test_groups_common_then_own() -> None:
    assert groups_for("backup", ["dev", "lambda"]) == ["lambda"]
    assert groups_for("report", ["dev", "lambda", "lambda-report"]) == ["lambda", "lambda-report"]
    with pytest.raises(BuildFailed, match="no \\[dependency-groups\\] 'lambda'"):
        groups_for("backup", ["dev"])


def test_source_files_hold_shared_common_and_the_function_only(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "functions/__init__.py",
        "functions/common/__init__.py",
        "functions/common/store.py",
        "functions/common/__pycache__/store.cpython-311.pyc",
        "functions/cli/main.py",
        "functions/packaging.py",
        "functions/backup/__init__.py",
        "functions/backup/handler.py",
        "functions/backup/tests/test_x.py",
        "functions/backup/.hidden",
        "functions/report/handler.py",
        "shared/__init__.py",
        "shared/db/migrations/versions/0001_x.py",
        "shared/db/migrations/script.py.mako",
        "shared/db/stale.pyc",
        "edge_node/cli.py",
    )
    assert [str(p) for p in source_files(tmp_path, "backup")] == [
        "functions/__init__.py",
        "functions/backup/__init__.py",
        "functions/backup/handler.py",
        "functions/common/__init__.py",
        "functions/common/store.py",
        "shared/__init__.py",
        "shared/db/migrations/script.py.mako",
        "shared/db/migrations/versions/0001_x.py",
    ]


def test_the_runbook_artifact_carries_the_prune_it_runs(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "functions/__init__.py",
        "functions/common/__init__.py",
        "functions/runbook/handler.py",
        "functions/prune/service.py",
        "functions/report/handler.py",
        "shared/__init__.py",
    )
    files = [str(p) for p in source_files(tmp_path, "runbook")]
    assert "functions/prune/service.py" in files and "functions/runbook/handler.py" in files
    assert "functions/report/handler.py" not in files
    assert (
        "pyarrow==26.0.1"
        in tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"][
            "lambda-runbook"
        ]
    )


def test_source_files_need_the_trees(tmp_path: Path) -> None:
    _touch(tmp_path, "functions/__init__.py", "functions/backup/handler.py")
    with pytest.raises(BuildFailed, match="shared/ is missing"):
        source_files(tmp_path, "backup")


def test_limits() -> None:
    assert limit_problems(MAX_ZIPPED, MAX_UNZIPPED) == []
    assert limit_problems(MAX_ZIPPED + 1, 1) == [
        "zipped 50.0 MiB is over Lambda's 50.0 MiB direct upload"
    ]
    assert len(limit_problems(MAX_ZIPPED + 1, MAX_UNZIPPED + 1)) == 2


def test_zip_is_reproducible_and_sizes_add_up(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    _touch(tree, "a/b.py", "c.txt", "a/__pycache__/b.cpython-312.pyc")
    (tree / "big.bin").write_bytes(b"\0" * 100_000)
    first = write_zip(tree, tmp_path / "one.zip")
    os.utime(tree / "c.txt", (1_000_000_000, 1_000_000_000))  # mtimes do not matter
    second = write_zip(tree, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    zipped, unzipped, files = first
    assert first == second
    assert (files, unzipped) == (3, 100_000 + 2 * len("# x\n"))
    assert zipped < 5_000  # zeros compress
    with zipfile.ZipFile(tmp_path / "one.zip") as zf:
        assert sorted(zf.namelist()) == ["a/b.py", "big.bin", "c.txt"]


def test_the_lambda_group_pins_what_the_project_pins() -> None:
    """The artifacts run the versions the tests ran: every pin of the `lambda` group is a pin
    of the project's own dependencies (uv lock would refuse two pins of one package anyway)."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = set(data["project"]["dependencies"])
    for group, pins in data["dependency-groups"].items():
        if group == "lambda" or group.startswith("lambda-"):
            assert set(pins) <= project, group


def _third_party_imports(paths: list[Path]) -> set[str]:
    stdlib = set(sys.stdlib_module_names)
    found: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found |= {n.split(".")[0] for n in names}
    return {n for n in found if n not in stdlib and n not in {"functions", "shared", "__future__"}}


def _typing_only(name: str) -> bool:
    return name.startswith("mypy_boto3_")  # imported under TYPE_CHECKING only


@pytest.mark.parametrize("name", ["(common)", *discover(ROOT)])
def test_every_import_is_provided_by_the_exported_requirements(name: str) -> None:
    """What shared/, functions/common and a function import at run time is in its artifact's
    requirements (exported from uv.lock offline; no build, no network)."""
    trees = [ROOT / "shared", ROOT / "functions" / "common"]
    if name != "(common)":
        trees.append(ROOT / "functions" / name)
    imports = _third_party_imports([p for t in trees for p in t.rglob("*.py")])
    groups = groups_for(
        name, tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]
    )
    exported = export_requirements(ROOT, groups)
    dists = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in exported.splitlines()
        if "==" in line and not line.startswith(" ")
    }
    providers = metadata.packages_distributions()
    missing = {
        module
        for module in imports
        if not _typing_only(module)
        and not {d.lower().replace("_", "-") for d in providers.get(module, [])} & dists
    }
    assert missing == set(), f"imported but not in the artifact: {missing}"


SAMPLE_HANDLER = '''
"""A sample function: touches every common module, the store and the migrations."""
from functions.common import aws, errors, s3url, secrets
from functions.common.observability import for_function
from functions.common.settings import load_settings
from functions.common.store import Store

obs = for_function("sample")


@obs.logger.inject_lambda_context
@obs.metrics.log_metrics
def handler(event, context):
    from shared.db.engine import current_revision, migrate

    store = Store.from_settings(load_settings(), None)
    revision = store.run(lambda engine: (migrate(engine), current_revision(engine))[1])
    location = s3url.S3Location.parse("s3://edge-probe/x")
    modules = [aws.__name__, errors.__name__, secrets.__name__]
    return {"revision": revision, "key": location.key("y"), "modules": modules}
'''

CALL_PROBE = """
import json, sys, types
sys.path.insert(0, sys.argv[1])
import functions.sample.handler as h
context = types.SimpleNamespace(function_name="sample", memory_limit_in_mb=512,
    invoked_function_arn="arn:aws:lambda:us-east-1:1:function:sample", aws_request_id="r-1")
result = h.handler({}, context)
try:
    import edge_node
    result["edge_node"] = edge_node.__file__
except ModuleNotFoundError:
    result["edge_node"] = None
result["sqlalchemy_from"] = __import__("sqlalchemy").__file__
print("RESULT " + json.dumps(result))
"""


def _sample_source(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "shared", src / "shared", ignore=ignore)
    shutil.copytree(ROOT / "functions" / "common", src / "functions" / "common", ignore=ignore)
    shutil.copy2(ROOT / "functions" / "__init__.py", src / "functions" / "__init__.py")
    (src / "functions" / "sample").mkdir()
    (src / "functions" / "sample" / "__init__.py").write_text("")
    (src / "functions" / "sample" / "handler.py").write_text(SAMPLE_HANDLER)
    return src


@pytest.mark.slow
def test_an_artifact_for_the_lambda_platform(tmp_path: Path) -> None:
    """Built for python3.12 x86_64 Linux whatever this machine is: every native extension is
    a cp312 manylinux one; nothing of edge_node, tests or bytecode; within Lambda's limits."""
    artifact = packaging.build(
        "sample", source_root=_sample_source(tmp_path), out_dir=tmp_path / "dist"
    )
    assert artifact.problems == []
    with zipfile.ZipFile(artifact.path) as zf:
        names = zf.namelist()
        wheels = [zf.read(n).decode() for n in names if n.endswith(".dist-info/WHEEL")]
    assert "functions/sample/handler.py" in names
    assert "shared/db/migrations/env.py" in names
    assert "functions/common/store.py" in names
    assert not [n for n in names if n.startswith(("edge_node/", "functions/cli/", "bin/"))]
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    native = [n for n in names if n.endswith(".so")]
    assert native and all(
        ".cpython-312-x86_64-linux-gnu." in n or ".abi3." in n
        for n in native
        if "/" in n and ".libs/" not in n
    )
    assert any("psycopg_binary/" in n for n in native)
    for wheel in wheels:
        tags = [line.split(": ", 1)[1] for line in wheel.splitlines() if line.startswith("Tag: ")]
        assert all(t.endswith("-any") or ("manylinux" in t and "x86_64" in t) for t in tags), tags
    assert artifact.zipped_bytes == artifact.path.stat().st_size


@pytest.mark.slow
def test_the_handler_imports_and_runs_from_the_unzipped_artifact_alone(tmp_path: Path) -> None:
    """Built for this interpreter (so that it can load the wheels), unzipped, and run in a
    fresh interpreter with neither site-packages nor the repository on its path."""
    artifact = packaging.build(
        "sample",
        source_root=_sample_source(tmp_path),
        out_dir=tmp_path / "dist",
        target=Target(python_version=f"{sys.version_info[0]}.{sys.version_info[1]}"),
    )
    tree = tmp_path / "task"
    with zipfile.ZipFile(artifact.path) as zf:
        zf.extractall(tree)
    env = {"PATH": os.environ["PATH"], "DATABASE_URL": f"sqlite:///{tmp_path}/probe.db"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", CALL_PROBE, str(tree)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["edge_node"] is None
    assert result["sqlalchemy_from"].startswith(str(tree))
    assert result["revision"] and result["key"] == "x/y"
