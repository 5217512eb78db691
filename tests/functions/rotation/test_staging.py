"""The guards every step runs first (AWS's template), pure."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from functions.common.errors import BadInput
from functions.rotation.staging import (
    STEPS,
    RotationEvent,
    RotationRefused,
    Step,
    Verdict,
    check,
    open_rotation,
    remaining,
)
from shared import secret_versions

ROOT = Path(__file__).resolve().parents[3]

TOKEN = "6f1c1a4e-2b9d-4c43-9a2e-0d6c1f0b7e55"
OLD = "0b8b1d9e-57a8-4f55-8c1e-7a3c2d9b1f00"


def meta(stages: dict[str, list[str]], enabled: bool | None = True) -> dict[str, object]:
    m: dict[str, object] = {"Name": "edge/api-token", "VersionIdsToStages": stages}
    if enabled is not None:
        m["RotationEnabled"] = enabled
    return m


def test_pending_version_runs_and_current_is_left_alone() -> None:
    assert check(meta({OLD: ["AWSCURRENT"], TOKEN: ["AWSPENDING"]}), TOKEN) is Verdict.RUN
    done = meta({OLD: ["AWSPREVIOUS"], TOKEN: ["AWSCURRENT"]})
    assert check(done, TOKEN) is Verdict.ALREADY_CURRENT
    both = meta({OLD: ["AWSPREVIOUS"], TOKEN: ["AWSCURRENT", "AWSPENDING"]})
    assert check(both, TOKEN) is Verdict.ALREADY_CURRENT


def test_refusals() -> None:
    with pytest.raises(RotationRefused, match="not enabled"):
        check(meta({TOKEN: ["AWSPENDING"]}, enabled=False), TOKEN)
    # a person's rotation (the CLI) does not need rotation switched on
    assert check(meta({TOKEN: ["AWSPENDING"]}, enabled=False), TOKEN, require_enabled=False) is (
        Verdict.RUN
    )
    with pytest.raises(RotationRefused, match="not a version"):
        check(meta({OLD: ["AWSCURRENT"]}), TOKEN)
    with pytest.raises(RotationRefused, match="not staged AWSPENDING"):
        check(meta({OLD: ["AWSCURRENT"], TOKEN: ["AWSPREVIOUS"]}), TOKEN)
    with pytest.raises(RotationRefused, match="labels: none"):
        check(meta({OLD: ["AWSCURRENT"], TOKEN: []}), TOKEN)


def test_open_rotation_is_a_pending_version_not_current() -> None:
    assert open_rotation(meta({OLD: ["AWSCURRENT"], TOKEN: ["AWSPENDING"]})) == TOKEN
    assert open_rotation(meta({OLD: ["AWSPREVIOUS"], TOKEN: ["AWSCURRENT", "AWSPENDING"]})) is None
    assert open_rotation(meta({OLD: ["AWSCURRENT"]})) is None


def test_event_parsing() -> None:
    ev = RotationEvent.parse(
        {"Step": "setSecret", "SecretId": "arn:x", "ClientRequestToken": TOKEN}
    )
    assert (ev.step, ev.secret_id, ev.token) == (Step.SET, "arn:x", TOKEN)
    with pytest.raises(BadInput, match="ClientRequestToken missing"):
        RotationEvent.parse({"Step": "setSecret", "SecretId": "x"})
    with pytest.raises(BadInput, match="unknown rotation step"):
        RotationEvent.parse({"Step": "dropSecret", "SecretId": "x", "ClientRequestToken": TOKEN})
    with pytest.raises(BadInput, match="not a version id"):
        RotationEvent.parse({"Step": "setSecret", "SecretId": "x", "ClientRequestToken": "a b"})
    assert Step.parse("finish") is Step.FINISH
    assert list(remaining(None)) == list(STEPS)
    assert list(remaining(Step.SET)) == [Step.TEST, Step.FINISH]


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


def label_literals(path: Path) -> list[str]:
    """Where ``path``'s code (not its docstrings) spells a version label as a string."""
    labels = {secret_versions.CURRENT, secret_versions.PENDING, secret_versions.PREVIOUS}
    tree = ast.parse(path.read_text(), str(path))
    docs = _docstrings(tree)
    return [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and node.value in labels and id(node) not in docs
    ]


def test_the_version_labels_are_spelt_once() -> None:
    """AWSCURRENT, AWSPENDING and AWSPREVIOUS are ``shared.secret_versions``' constants: the
    node, the functions and shared import them rather than spell them again."""
    assert label_literals(ROOT / "shared" / "secret_versions.py")  # the scan sees them
    spelt = [
        where
        for package in ("edge_node", "functions", "shared")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "shared" / "secret_versions.py"
        for where in label_literals(path)
    ]
    assert spelt == []
