"""Committed contract artifacts: drift, staleness detection and a missing compiler."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from edge_node.devchain import solc, tools

EXPECTED_CONTRACTS = {"ArbExecutor", "PairV2", "TestToken", "TrafficRouter"}


def _copy_sources(dest: Path) -> Path:
    for path in solc.source_files():
        shutil.copy(path, dest / path.name)
    return dest


def _no_solc() -> list[str]:
    raise tools.ToolMissing(f"the solc npm package is missing (test); {tools.SOLC_HINT}")


def test_committed_artifacts_match_a_fresh_compile() -> None:
    assert solc.drifted_artifacts() == []


def test_committed_artifacts_are_stable_json_with_the_agreed_keys() -> None:
    current = solc.sources_sha256()
    names = set()
    for path in sorted(solc.build_dir().glob("*.json")):
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text)
        names.add(doc["contractName"])
        assert set(doc) == {
            "contractName",
            "abi",
            "bytecode",
            "deployedBytecode",
            "sourceSha256",
            "solcVersion",
        }
        assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
        assert doc["contractName"] == path.stem
        assert doc["sourceSha256"] == current
        assert re.fullmatch(r"0x[0-9a-f]+", doc["bytecode"])
        assert re.fullmatch(r"0x[0-9a-f]+", doc["deployedBytecode"])
        assert re.fullmatch(r"0\.8\.\d+\+commit\.[0-9a-f]+.*", doc["solcVersion"])
    assert names == EXPECTED_CONTRACTS


def test_source_hash_covers_every_source_in_name_order() -> None:
    joined = b"".join(p.read_bytes() for p in sorted(solc.CONTRACTS_DIR.glob("*.sol")))
    assert solc.sources_sha256() == hashlib.sha256(joined).hexdigest()


def test_fresh_artifacts_load_without_a_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "solc_command", _no_solc)
    art = solc.load_artifact("PairV2")
    assert art.name == "PairV2"
    assert art.bytecode.startswith("0x60")
    assert any(e.get("name") == "Swap" for e in art.abi)


def test_stale_artifacts_without_a_compiler_say_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contracts = _copy_sources(tmp_path)
    shutil.copytree(solc.build_dir(), solc.build_dir(contracts))
    token = contracts / "TestToken.sol"
    token.write_text(token.read_text() + "\n// edited\n")
    monkeypatch.setattr(tools, "NODE_MODULES", tmp_path / "no_node_modules")

    with pytest.raises(solc.CompilerMissing) as excinfo:
        solc.load_artifact("TestToken", contracts_dir=contracts)
    assert "run ./scripts/setup (npm ci) to install the solc npm package" in str(excinfo.value)


def test_missing_node_is_reported_as_compiler_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    contracts = _copy_sources(tmp_path)
    monkeypatch.setattr("shutil.which", lambda _name: None)
    with pytest.raises(solc.CompilerMissing, match=r"node .*scripts/setup"):
        solc.load_artifact("PairV2", contracts_dir=contracts)


def test_stale_artifacts_are_recompiled_and_written(tmp_path: Path) -> None:
    contracts = _copy_sources(tmp_path)
    art = solc.load_artifact("TrafficRouter", contracts_dir=contracts)
    committed = solc.load_artifact("TrafficRouter")
    assert art == committed
    written = {p.stem for p in solc.build_dir(contracts).glob("*.json")}
    assert written == EXPECTED_CONTRACTS


def test_compile_errors_carry_the_compiler_messages(tmp_path: Path) -> None:
    (tmp_path / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\npragma solidity ^0.8.20;\n"
        "contract Broken { function f() public { undefinedThing(); } }\n"
    )
    with pytest.raises(solc.CompileError, match="undefinedThing") as excinfo:
        solc.compile_contracts(tmp_path)
    assert any("Undeclared identifier" in m for m in excinfo.value.messages)
