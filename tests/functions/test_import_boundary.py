"""functions/ and shared/ never import edge_node/ (the Lambda artifacts do not contain it, and
importing it would drag the node's dependencies into every cold start). Read from the source's
syntax tree, so an import inside a function or under ``if TYPE_CHECKING`` counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = "edge_node"


def forbidden_imports(source: str, module: str) -> list[tuple[int, str]]:
    """(line, imported name) of every import of edge_node in ``source`` (module ``module``)."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the importing package
                parts = package.split(".")
                parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
                base = ".".join([*parts, base] if base else parts)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Call) and getattr(
            node.func, "attr", getattr(node.func, "id", "")
        ) in (
            "import_module",
            "__import__",
        ):
            names = [
                a.value
                for a in node.args[:1]
                if isinstance(a, ast.Constant) and isinstance(a.value, str)
            ]
        bad = [n for n in names if n == FORBIDDEN or n.startswith(FORBIDDEN + ".")]
        if bad:
            found.append((getattr(node, "lineno", 0), bad[0]))
    return found


def _modules() -> list[Path]:
    return sorted(p for top in ("functions", "shared") for p in (ROOT / top).rglob("*.py"))


def test_the_walk_sees_every_kind_of_import() -> None:
    source = (
        "import os\nimport edge_node.cli\nfrom edge_node import x\n"
        "def f():\n    from edge_node.store import y\n"
        "import importlib\nimportlib.import_module('edge_node.chain')\n"
    )
    found = sorted(forbidden_imports(source, "functions.backup.core"))
    assert found == [
        (2, "edge_node.cli"),
        (3, "edge_node"),
        (5, "edge_node.store"),
        (7, "edge_node.chain"),
    ]
    # relative imports resolve inside functions/: never edge_node
    assert forbidden_imports("from .. import edge_node", "functions.backup.core") == []
    assert forbidden_imports("from . import edge_node_like", "functions.a.b") == []
    assert forbidden_imports("import edge_nodes", "shared.x") == []


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_edge_node(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    assert forbidden_imports(path.read_text(), module) == []
