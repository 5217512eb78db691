"""The send log (the speed target of issue 7): a trade is durable in it before the broadcast,
copied into the store after, and whatever a crash left between the two is imported at start."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from edge_node.execution.broadcast import BroadcastResult
from edge_node.execution.sendlog import SendLog, send_log_path
from tests.support.fake_trading import intent, rig
from tests.support.waiting import WITHIN_S


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line]


async def test_the_trade_is_in_the_log_before_the_broadcast_and_in_the_store_after(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path, send_log=True)
    await r.trader.reconcile(r.rpc)
    log_path = tmp_path / "trader.db-sendlog"
    seen_at_broadcast: list[list[str]] = []
    send = r.broadcaster.send

    async def watching(raw_hex: str) -> BroadcastResult:
        seen_at_broadcast.append([str(x["op"]) for x in _lines(log_path)])
        return await send(raw_hex)

    r.broadcaster.send = watching  # type: ignore[method-assign]
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    assert [x["op"] for x in _lines(log_path)] == ["signed"]  # durable before any await
    await r.idle()
    assert seen_at_broadcast == [["signed"]]
    assert r.journal() == [(0, "trade", "broadcast", None)]  # the store copy, after it
    assert r.trades() == [(0, "submitted")]
    assert r.trader.pending[0].trade_id is not None
    r.rpc.mine(signed.hash_hex, 3)
    r.trader.on_block(3)
    await r.idle()
    assert r.trades() == [(0, "mined")]
    await r.trader.close()


async def test_a_trade_only_in_the_log_is_imported_and_sent_again_at_start(
    tmp_path: Path,
) -> None:
    first = rig(tmp_path, send_log=True)
    await first.trader.reconcile(first.rpc)
    reached, slow = asyncio.Event(), asyncio.Event()

    async def never(*_: object) -> None:  # the store copy never happens: a crash first
        reached.set()
        await slow.wait()

    signed = first.trader.consider(intent("P"), time.time())
    assert signed is not None
    first.trader._db = never  # type: ignore[method-assign,assignment]
    await asyncio.wait_for(reached.wait(), WITHIN_S)  # broadcast, and at the store copy
    assert first.broadcaster.sent == [signed.raw_hex]
    assert first.journal() == []  # only the send log has it
    for task in list(first.trader._tasks):
        task.cancel()
    first.trader.send_log.close()  # type: ignore[union-attr]
    with (tmp_path / "trader.db-sendlog").open("ab") as f:
        f.write(b'{"op":"signed","nonce":1,"tx_ha')  # a torn last line: skipped

    again = rig(tmp_path, send_log=True)
    await again.trader.reconcile(again.rpc)
    await again.idle()
    assert again.journal() == [(0, "trade", "broadcast", None)]
    assert again.trades() == [(0, "submitted")]
    assert list(again.trader.pending) == [0]
    assert again.broadcaster.sent == [signed.raw_hex]  # the same bytes, sent again
    assert (tmp_path / "trader.db-sendlog").stat().st_size == 0  # all in the store now
    assert again.trader.nonces.next_nonce == 1
    await again.trader.close()


async def test_a_failed_store_copy_keeps_the_trade_tracked_and_the_log(tmp_path: Path) -> None:
    r = rig(tmp_path, send_log=True)
    await r.trader.reconcile(r.rpc)

    def broken(*_: object) -> None:
        raise ConnectionError("disk full")

    r.trader.journal.record_sent = broken  # type: ignore[method-assign,assignment]
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    assert r.trader.counters.errors == {"journal": 1}
    assert list(r.trader.pending) == [0]  # still tracked: it was sent
    assert r.trader.send_log is not None and r.trader.send_log.copy_failed
    assert [x["op"] for x in _lines(tmp_path / "trader.db-sendlog")] == ["signed", "broadcast"]
    await r.trader.close()


def test_the_log_is_next_to_a_sqlite_store_only() -> None:
    assert send_log_path("sqlite:////var/lib/edge/edge.db") == Path("/var/lib/edge/edge.db-sendlog")
    assert send_log_path("postgresql://u@h/db") is None
    assert send_log_path("sqlite:///:memory:") is None


def test_a_torn_line_is_skipped_and_256_bit_amounts_kept(tmp_path: Path) -> None:
    log = SendLog(tmp_path / "x-sendlog")
    log.signed({"tx_hash": "0x01", "nonce": 0, "trade": {"amount_in": 2**255 + 1}})
    log.broadcast("0x01", None)
    log.close()
    with (tmp_path / "x-sendlog").open("ab") as f:
        f.write(b'{"op":"signed","tx_hash":"0x02"')
    log = SendLog(tmp_path / "x-sendlog")
    record = {"tx_hash": "0x01", "nonce": 0, "trade": {"amount_in": 2**255 + 1}}
    assert log.read() == ([record], {"0x01": None}, set())
    log.close()
