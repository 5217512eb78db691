"""The node as an operator runs it (``edge-node run``), killed and restarted."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_node.service import checkpoint_name
from edge_node.store import reader
from shared.db.engine import create_engine
from tests.support.config_file import write_config
from tests.support.node import (
    Chain,
    assert_candles_match_swaps,
    assert_store_matches_chain,
)
from tests.support.process import NodeProcess, free_port
from tests.support.waiting import eventually

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _checkpoint(url: str, chain_id: int) -> int:
    """The last block the store says the node processed (-1 before any)."""
    engine = create_engine(url)
    try:
        cp = reader.checkpoint(engine, checkpoint_name(chain_id))
        return -1 if cp is None else cp.block_number
    finally:
        engine.dispose()


def _wait_store_at(url: str, chain_id: int, block: int, within: float = 60) -> None:
    eventually(
        lambda: _checkpoint(url, chain_id) >= block, within, f"the store to reach block {block}"
    )


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
        update={"api": chain.config(db_url).api.model_copy(update={"port": free_port()})}
    )
    node = NodeProcess(write_config(cfg, tmp_path / "edge.toml"), tmp_path / "node.log")
    node.start()
    chain_id = cfg.chain.chain_id
    traffic = chain.traffic(rate=40).start()
    try:
        eventually(lambda: _stored(db_url, chain_id), what="the node to store swaps")
        node.kill()  # mid-stream: no flush, no goodbye
        left_at = chain.anvil.block_number()
        # The chain moves on without the node.
        eventually(lambda: chain.anvil.block_number() >= left_at + 3, what="three more blocks")
        stored_at = _checkpoint(db_url, chain_id)
        node.start()
        _wait_store_at(db_url, chain_id, stored_at + 1)  # it resumed...
        node.kill()  # ...and is killed again, right after
        node.start()
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
    cfg = cfg.model_copy(update={"api": cfg.api.model_copy(update={"port": free_port()})})
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
    eventually(
        lambda: node.health()["chain"]["reorgs"] >= 1,  # type: ignore[index]
        what="the reorg to be rolled back",
        diagnostics=node.tail,
    )
    _wait_store_at(sqlite_url, cfg.chain.chain_id, chain.anvil.block_number())
    assert node.terminate() == 0
    _final_checks(sqlite_url, chain, cfg.chain.chain_id, cfg.candles.intervals)
    after = _stored(sqlite_url, cfg.chain.chain_id)
    assert after - stored_before, "the replacement blocks' swaps were stored"
    assert stored_before & after, "swaps below the reorg were kept"
