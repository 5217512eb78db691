"""The node's start and stop: a start that fails half-way leaves nothing running."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from eth_account import Account

from edge_node.cli import main
from edge_node.service import EdgeNode, FatalError
from shared.config import ControlConfig, NodeConfig, load_config
from tests.support.config_file import write_config

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "edge.example.toml"
KEY = "0x" + "11" * 32


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def config(sqlite_url: str, port: int) -> NodeConfig:
    cfg = load_config(EXAMPLE, env={"EDGE_API_TOKEN": "t" * 24, "EDGE_DATABASE_URL": sqlite_url})
    assert cfg.execution is not None
    owner = Account.from_key(KEY).address.lower()
    return cfg.model_copy(
        update={
            "api": cfg.api.model_copy(update={"host": "127.0.0.1", "port": port}),
            "store": cfg.store.model_copy(update={"auto_migrate": True}),
            "control": ControlConfig(),  # no remote flag: nothing to reach in a test
            "execution": cfg.execution.model_copy(update={"owner": owner}),
        }
    )


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "store-writer" and t.is_alive()]


async def test_a_start_with_the_api_port_taken_stops_the_writer_and_the_broadcaster(
    sqlite_url: str, taken_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGE_SIGNER_KEY", KEY)
    before = writer_threads()
    node = EdgeNode(config(sqlite_url, taken_port), live=True)
    with pytest.raises((FatalError, OSError)):  # the message: the next test
        await node.run(asyncio.Event())
    assert node.desk is not None and node.desk.broadcaster is not None  # it had started
    assert all(client.closed for client in node.desk.broadcaster.clients)
    assert writer_threads() == before
    assert not node.writer._thread.is_alive()


def test_run_with_the_api_port_taken_says_so_without_a_traceback(
    sqlite_url: str, taken_port: int, tmp_path: Path
) -> None:
    path = write_config(config(sqlite_url, taken_port), tmp_path / "edge.toml")
    r = CliRunner().invoke(main, ["run", "--config", str(path)])
    assert r.exit_code == 1, r.output
    assert f"the API cannot listen on 127.0.0.1:{taken_port}" in r.output
    assert "Traceback" not in r.output and isinstance(r.exception, SystemExit)
    assert writer_threads() == []
