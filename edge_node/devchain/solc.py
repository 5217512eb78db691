"""Compiling the local-chain contracts and loading their committed artifacts.

Artifacts live in ``edge_node/contracts/build`` and are committed, so running the edge node or the
tests needs no compiler; each records the hash of the sources it was built from, so editing a
``.sol`` file makes ``load_artifact`` recompile instead of silently deploying stale bytecode.

    python -m edge_node.devchain.solc --write   # recompile, rewrite the artifacts
    python -m edge_node.devchain.solc --check   # exit 1 if the committed artifacts drifted
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_node.devchain import tools

CONTRACTS_DIR = Path(__file__).resolve().parents[1] / "contracts"
BUILD_SUBDIR = "build"
COMPILER_HINT = tools.SOLC_HINT

# Changing any of these changes the bytecode, so they are part of what the drift check guards.
OPTIMIZER_RUNS = 200
EVM_VERSION = "cancun"
_COMPILE_TIMEOUT_S = 300.0


class CompilerMissing(RuntimeError):
    """The artifacts are stale or absent and the compiler that would rebuild them is missing."""


class CompileError(RuntimeError):
    """solc rejected the sources; ``messages`` holds its formatted errors."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("solc failed:\n" + "\n".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    return sorted(contracts_dir.glob("*.sol"), key=lambda p: p.name)


def sources_sha256(contracts_dir: Path = CONTRACTS_DIR) -> str:
    digest = hashlib.sha256()
    for path in source_files(contracts_dir):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _standard_input(contracts_dir: Path) -> dict[str, Any]:
    # Keys are bare file names, not paths, because they are baked into the bytecode's metadata
    # hash: the artifacts must not depend on where the repository is checked out.
    return {
        "language": "Solidity",
        "sources": {
            path.name: {"content": path.read_text(encoding="utf-8")}
            for path in source_files(contracts_dir)
        },
        "settings": {
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "evmVersion": EVM_VERSION,
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}
            },
        },
    }


def _run_compiler(args: list[str], stdin: str | None) -> str:
    try:
        cmd = [*tools.solc_command(), *args]
    except tools.ToolMissing as exc:
        # The tool's message already says how to install it.
        raise CompilerMissing(f"cannot compile the contracts: {exc}") from exc
    # stdout goes to a file, not a pipe: solc.js calls process.exit() right after printing, and
    # node writes to pipes asynchronously, so output beyond ~64 KiB could be cut off. Node
    # writes to files synchronously.
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        try:
            done = subprocess.run(  # noqa: S603 - argv is the discovered node + solc.js path
                cmd,
                input=stdin,
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
                timeout=_COMPILE_TIMEOUT_S,
                check=False,
            )
        except FileNotFoundError as exc:
            raise CompilerMissing(f"cannot run {cmd[0]}: {exc}; {COMPILER_HINT}") from exc
        except subprocess.TimeoutExpired as exc:
            raise CompileError([f"solc timed out after {_COMPILE_TIMEOUT_S:.0f} s"]) from exc
        if done.returncode != 0:
            raise CompileError([f"solc exited with {done.returncode}: {done.stderr.strip()}"])
        out.seek(0)
        return out.read()


def _parse_output(stdout: str) -> dict[str, Any]:
    # solcjs prints a chatty line about SMT solvers before the JSON, so start at the first line
    # that opens an object.
    start = next(
        (i for i, line in enumerate(stdout.splitlines(keepends=True)) if line.startswith("{")),
        None,
    )
    if start is None:
        raise CompileError([f"solc printed no JSON: {stdout.strip()[:500]}"])
    text = "".join(stdout.splitlines(keepends=True)[start:])
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def compiler_version() -> str:
    lines = [line.strip() for line in _run_compiler(["--version"], None).splitlines()]
    version = next((line for line in lines if line and line[0].isdigit()), None)
    if version is None:
        raise CompileError([f"solc --version printed no version: {lines}"])
    return version


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR) -> dict[str, dict[str, Any]]:
    """Compiles every source; returns the artifact documents by contract name (not written)."""
    output = _parse_output(
        _run_compiler(["--standard-json"], json.dumps(_standard_input(contracts_dir)))
    )
    errors = [
        str(e.get("formattedMessage") or e.get("message"))
        for e in output.get("errors", [])
        if e.get("severity") == "error"
    ]
    if errors:
        raise CompileError(errors)

    version = compiler_version()
    source_hash = sources_sha256(contracts_dir)
    docs: dict[str, dict[str, Any]] = {}
    for file_name, contracts in sorted(output.get("contracts", {}).items()):
        for name, out in sorted(contracts.items()):
            bytecode = out["evm"]["bytecode"]["object"]
            if not bytecode:
                continue  # interfaces and abstract contracts cannot be deployed
            if name in docs:
                raise CompileError([f"contract name {name} is defined twice ({file_name})"])
            docs[name] = {
                "contractName": name,
                "abi": out["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
                "sourceSha256": source_hash,
                "solcVersion": version,
            }
    return docs


def _render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def build_dir(contracts_dir: Path = CONTRACTS_DIR) -> Path:
    return contracts_dir / BUILD_SUBDIR


def write_artifacts(
    docs: dict[str, dict[str, Any]], contracts_dir: Path = CONTRACTS_DIR
) -> list[Path]:
    """Writes one JSON file per contract and removes artifacts of contracts that no longer exist."""
    out_dir = build_dir(contracts_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in docs.items():
        path = out_dir / f"{name}.json"
        path.write_text(_render(doc), encoding="utf-8")
        written.append(path)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in docs:
            stale.unlink()
    return written


def drifted_artifacts(contracts_dir: Path = CONTRACTS_DIR) -> list[str]:
    """Recompiles in memory; returns a description of each committed artifact that differs."""
    fresh = compile_contracts(contracts_dir)
    out_dir = build_dir(contracts_dir)
    problems = []
    for name, doc in sorted(fresh.items()):
        path = out_dir / f"{name}.json"
        if not path.is_file():
            problems.append(f"{name}: missing {path}")
        elif (text := path.read_text(encoding="utf-8")) != _render(doc):
            committed = json.loads(text)
            fields = sorted(
                k for k in doc.keys() | committed.keys() if doc.get(k) != committed.get(k)
            )
            problems.append(
                f"{name}: {path} differs from a fresh compile in {', '.join(fields) or 'layout'}"
            )
    for path in sorted(out_dir.glob("*.json")):
        if path.stem not in fresh:
            problems.append(f"{path.stem}: {path} has no matching contract in the sources")
    return problems


def _artifact_from_doc(doc: dict[str, Any]) -> Artifact:
    return Artifact(
        name=str(doc["contractName"]),
        abi=list(doc["abi"]),
        bytecode=str(doc["bytecode"]),
        deployed_bytecode=str(doc["deployedBytecode"]),
    )


def load_artifact(name: str, contracts_dir: Path = CONTRACTS_DIR) -> Artifact:
    """The committed artifact if it matches the sources, else a fresh compile (written back)."""
    path = build_dir(contracts_dir) / f"{name}.json"
    current = sources_sha256(contracts_dir)
    if path.is_file():
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("sourceSha256") == current:
            return _artifact_from_doc(doc)
    docs = compile_contracts(contracts_dir)
    write_artifacts(docs, contracts_dir)
    if name not in docs:
        raise KeyError(f"no contract named {name} in {contracts_dir}")
    return _artifact_from_doc(docs[name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compile the local-chain contracts.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="recompile and write the artifacts")
    mode.add_argument("--check", action="store_true", help="exit 1 if committed artifacts drift")
    args = parser.parse_args(argv)
    try:
        if args.write:
            for path in write_artifacts(compile_contracts()):
                print(f"wrote {path.relative_to(tools.REPO_ROOT)}")
            return 0
        problems = drifted_artifacts()
    except (CompilerMissing, CompileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for problem in problems:
        print(f"drift: {problem}", file=sys.stderr)
    if problems:
        print("run: python -m edge_node.devchain.solc --write", file=sys.stderr)
        return 1
    print("contract artifacts match the sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
