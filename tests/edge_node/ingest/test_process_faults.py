"""The node as an operator runs it (``edge-node run``), killed and restarted."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_node.service import checkpoint_name
from edge_node.store import reader
from shared.config import load_config
from shared.db.engine import create_engine
from tests.support.config_file import write_config
from tests.support.node import (
    TOKEN,
    Chain,
    assert_candles_match_swaps,
    assert_store_matches_chain,
    start_chain,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]

EDGE_NODE = str(Path(sys.executable).with_name("edge-node"))


@pytest.fixture
def chain() -> Iterator[Chain]:
    c = start_chain(block_time=0.5)
    try:
        yield c
    finally:
        c.anvil.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.cfg = load_config(config)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [EDGE_NODE, "run", "--config", str(self.config)], stdout=out, stderr=out
        )
        self.wait_http(timeout=30)
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.cfg.api.port}{path}"

    def wait_http(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited {self.proc.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1)  # noqa: S310
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"node API did not come up:\n{self.tail()}")

    def health(self) -> dict[str, object]:
        req = urllib.request.Request(self.url("/health"))  # noqa: S310
        req.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:  # 503 while not healthy: still JSON
            return dict(json.loads(err.read()))

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def _wait_store_at(url: str, chain_id: int, block: int, timeout: float = 60) -> None:
    engine = create_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            cp = reader.checkpoint(engine, checkpoint_name(chain_id))
            if cp is not None and cp.block_number >= block:
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError(f"store did not reach block {block} in {timeout}s")


def _stored(url: str, chain_id: int) -> set[tuple[str, int]]:
    engine = create_engine(url)
    try:
        return reader.swap_keys(engine, chain_id)
    finally:
        engine.dispose()


def _final_checks(url: str, chain: Chain, chain_id: int, intervals: list[str]) -> None:
    engine = create_engine(url)
    try:
        assert_store_matches_chain(engine, chain, chain_id)
        assert_candles_match_swaps(engine, chain_id, intervals)
    finally:
        engine.dispose()


def test_sigkill_mid_stream_then_restart_loses_and_doubles_nothing(
    chain: Chain, db_url: str, tmp_path: Path
) -> None:
    cfg = chain.config(db_url).model_copy(
        update={"api": chain.config(db_url).api.model_copy(update={"port": _free_port()})}
    )
    node = NodeProcess(write_config(cfg, tmp_path / "edge.toml"), tmp_path / "node.log")
    node.start()
    traffic = chain.traffic(rate=40).start()
    try:
        time.sleep(3)
        node.kill()  # no flush, no goodbye
        time.sleep(2)  # the chain moves on without the node
        node.start()
        time.sleep(2)
        node.kill()  # and again, right after it resumed
        node.start()
        time.sleep(1)
    finally:
        traffic.stop()
    head = chain.anvil.block_number()
    _wait_store_at(db_url, cfg.chain.chain_id, head)
    assert node.health()["status"] == "ok"
    assert node.terminate() == 0, node.tail()  # SIGTERM: graceful, exit 0
    assert "Traceback" not in node.tail()
    _final_checks(db_url, chain, cfg.chain.chain_id, cfg.candles.intervals)


def test_reorg_while_the_node_is_down_is_rolled_back_on_restart(
    chain: Chain, sqlite_url: str, tmp_path: Path
) -> None:
    cfg = chain.config(sqlite_url)
    cfg = cfg.model_copy(update={"api": cfg.api.model_copy(update={"port": _free_port()})})
    node = NodeProcess(write_config(cfg, tmp_path / "edge.toml"), tmp_path / "node.log")
    node.start()
    traffic = chain.traffic(rate=40, max_swaps=60).start()
    traffic.wait(60)
    traffic.stop()
    head = chain.anvil.block_number()
    _wait_store_at(sqlite_url, cfg.chain.chain_id, head)
    assert node.terminate() == 0
    stored_before = _stored(sqlite_url, cfg.chain.chain_id)
    # While the node is down, the last 3 blocks are replaced by others with other swaps.
    chain.anvil.reorg(3, [(chain.swap_tx(i), i % 3) for i in range(5)])
    assert _stored(sqlite_url, cfg.chain.chain_id) == stored_before  # the node is down
    node.start()
    _wait_store_at(sqlite_url, cfg.chain.chain_id, chain.anvil.block_number())
    health = node.health()
    assert health["chain"]["reorgs"] >= 1  # type: ignore[index]
    assert node.terminate() == 0
    _final_checks(sqlite_url, chain, cfg.chain.chain_id, cfg.candles.intervals)
    after = _stored(sqlite_url, cfg.chain.chain_id)
    assert after - stored_before, "the replacement blocks' swaps were stored"
    assert stored_before & after, "swaps below the reorg were kept"
