"""Finding the npm-installed anvil and solc, and the setup script's tool check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edge_node.devchain import tools


@pytest.mark.parametrize(
    ("sys_platform", "machine", "package"),
    [
        ("linux", "x86_64", "@foundry-rs/anvil-linux-amd64"),
        ("linux", "aarch64", "@foundry-rs/anvil-linux-arm64"),
        ("darwin", "arm64", "@foundry-rs/anvil-darwin-arm64"),
        ("darwin", "x86_64", "@foundry-rs/anvil-darwin-amd64"),
        ("win32", "AMD64", "@foundry-rs/anvil-win32-amd64"),
    ],
)
def test_platform_package_names(
    monkeypatch: pytest.MonkeyPatch, sys_platform: str, machine: str, package: str
) -> None:
    monkeypatch.setattr("sys.platform", sys_platform)
    monkeypatch.setattr("platform.machine", lambda: machine)
    assert tools._platform_package() == package


def test_unsupported_platform_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANVIL_BIN", raising=False)
    monkeypatch.setattr("sys.platform", "freebsd14")
    with pytest.raises(tools.ToolMissing, match="ANVIL_BIN"):
        tools.anvil_binary()


def test_anvil_bin_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("")
    monkeypatch.setenv("ANVIL_BIN", str(fake))
    assert tools.anvil_binary() == fake
    monkeypatch.setenv("ANVIL_BIN", str(tmp_path / "absent"))
    with pytest.raises(tools.ToolMissing, match="absent"):
        tools.anvil_binary()


def test_missing_npm_tools_name_the_setup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANVIL_BIN", raising=False)
    monkeypatch.setattr(tools, "NODE_MODULES", tmp_path)
    with pytest.raises(tools.ToolMissing, match=r"\./scripts/setup"):
        tools.anvil_binary()
    with pytest.raises(tools.ToolMissing, match=r"\./scripts/setup"):
        tools.solc_command()


@pytest.mark.chain
def test_installed_tools_resolve_inside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANVIL_BIN", raising=False)
    assert tools.anvil_binary().is_relative_to(tools.REPO_ROOT / "node_modules")
    assert tools.solc_command()[-1].endswith("solc.js")


@pytest.mark.chain
def test_check_prints_both_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert tools.main(["--check"]) == 0
    out = capsys.readouterr().out
    assert "anvil Version: " in out
    assert re.search(r"solc: +0\.8\.\d+\+commit\.", out)


def test_check_fails_clearly_without_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANVIL_BIN", raising=False)
    monkeypatch.setattr(tools, "NODE_MODULES", tmp_path)
    assert tools.main(["--check"]) == 1
    assert "scripts/setup" in capsys.readouterr().err
