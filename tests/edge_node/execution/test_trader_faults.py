"""The live node as a process, killed with SIGKILL at the worst moments, and stopped with SIGTERM.

The node kills itself (``EDGE_NODE_FAULT``) exactly between two steps of sending a trade:
after journaling it and before broadcasting it, and after broadcasting it and before seeing
its receipt. After a restart the journal and the chain must agree, and no nonce may have been
reused or skipped.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from edge_node.execution.sending import FAULT_ENV
from shared.db.engine import create_engine
from tests.support.config_file import write_config
from tests.support.process import NodeProcess, free_port
from tests.support.trading import (
    ArbChain,
    assert_journal_agrees_with_chain,
    import_send_log,
    journal_rows,
    running_arb_chain,
)
from tests.support.waiting import WITHIN_S, eventually

pytestmark = [pytest.mark.chain, pytest.mark.slow]


chain = pytest.fixture(running_arb_chain, name="chain")


def _config(chain: ArbChain, store_url: str, tmp_path: Path) -> Path:
    cfg = chain.config(store_url)
    cfg = cfg.model_copy(update={"api": cfg.api.model_copy(update={"port": free_port()})})
    return write_config(cfg, tmp_path / "edge.toml")


def _live(chain: ArbChain, config: Path, log: Path, fault: str | None = None) -> NodeProcess:
    env = {"EDGE_SIGNER_KEY": chain.bot_key}
    if fault is not None:
        env[FAULT_ENV] = fault
    return NodeProcess(config, log, args=["--live"], env=env).start()


def _trading(node: NodeProcess) -> dict[str, object]:
    status, body = node.request("GET", "/health")
    trading = body.get("trading")
    assert isinstance(trading, dict), (status, body)
    return trading


def _ready(node: NodeProcess) -> None:
    eventually(lambda: _trading(node).get("ready") is True, WITHIN_S, "the trader to be ready")


def _settled(node: NodeProcess) -> None:
    eventually(lambda: _trading(node).get("pending_nonces") == [], WITHIN_S, "nothing pending")


@pytest.mark.parametrize("fault", ["crash_after_journal", "crash_after_broadcast"])
def test_sigkill_mid_trade_then_restart_agrees_with_the_chain(
    chain: ArbChain, db_url: str, tmp_path: Path, fault: str
) -> None:
    config = _config(chain, db_url, tmp_path)
    log = tmp_path / "node.log"
    first_nonce = chain.bot_nonce()
    node = _live(chain, config, log, fault)
    _ready(node)
    chain.open_gap()  # the node trades it... and dies at the fault point
    assert node.wait_exit(WITHIN_S) == -signal.SIGKILL, node.tail()
    assert f"SIGKILL at {fault}" in node.tail()

    # The journal is the store and, on SQLite, the send log in front of it: merged as the
    # restart would.
    import_send_log(db_url, chain)
    engine = create_engine(db_url)
    try:
        rows = journal_rows(engine)
        status = "signed" if fault == "crash_after_journal" else "broadcast"
        assert [(r.nonce, r.kind, r.status) for r in rows] == [(first_nonce, "trade", status)]
        in_pool = chain.bot_pool()
        if fault == "crash_after_journal":
            assert in_pool == []  # journaled, never sent
        else:
            assert [t["hash"] for t in in_pool] == [rows[0].tx_hash]  # sent, not yet seen
            chain.mine()  # and mined while the node is down

        node = _live(chain, config, log)  # the restart: reconcile before any new trade
        _ready(node)
        chain.mine()  # a rebroadcast trade is mined here
        _settled(node)
        chain.open_gap()  # trading goes on, with the next nonce
        eventually(chain.bot_pool, WITHIN_S, "the next trade")
        chain.mine()
        _settled(node)
        assert node.terminate() == 0, node.tail()

        counts = assert_journal_agrees_with_chain(chain, engine)
        assert counts == {"mined": 2}, counts
        assert chain.bot_nonce() == first_nonce + 2
        rows = journal_rows(engine)
        assert [r.nonce for r in rows] == [first_nonce, first_nonce + 1]
    finally:
        engine.dispose()


def test_sigterm_drains_the_pending_trade_then_exits_0(
    chain: ArbChain, sqlite_url: str, tmp_path: Path
) -> None:
    config = _config(chain, sqlite_url, tmp_path)
    node = _live(chain, config, tmp_path / "node.log")
    _ready(node)
    chain.open_gap()
    eventually(chain.bot_pool, WITHIN_S, "a pending trade")
    assert node.proc is not None
    node.proc.send_signal(signal.SIGTERM)
    # The node pauses (the sentinel that it handled the signal) and waits for the trade to
    # settle, which cannot happen before the test mines it: still running.
    eventually(
        lambda: _trading(node)["control"]["state"] == "paused",  # type: ignore[index]
        WITHIN_S,
        "the node to pause on SIGTERM",
        diagnostics=node.tail,
    )
    assert node.proc.poll() is None, node.tail()
    chain.mine()
    assert node.wait_exit(30) == 0, node.tail()
    engine = create_engine(sqlite_url)
    try:
        assert assert_journal_agrees_with_chain(chain, engine) == {"mined": 1}
    finally:
        engine.dispose()
