"""Nonce holes and trading errors (points 1 and 7 of issue 7): a signature that fails gives its
nonce back; a hole, however it came, is found (at start and on every block) and filled with the
cancelling self-transfer; an exception at any stage is counted under that stage, with a
rate-limited traceback, and never escapes into the market-data path."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import rlp  # type: ignore[import-untyped]

from tests.support.fake_trading import intent, rig


def _fail_once(target: Any, name: str, err: Exception) -> None:
    real = getattr(target, name)
    calls = {"n": 0}

    def wrapper(*args: Any, **kw: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise err
        return real(*args, **kw)

    setattr(target, name, wrapper)


class _Proxy:
    def __init__(self, inner: Any) -> None:
        self.sign = inner.sign


async def test_a_failed_signature_gives_its_nonce_back(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    r.trader._template = _Proxy(r.trader._template)  # (templates have slots: wrapped)
    _fail_once(r.trader._template, "sign", RuntimeError("HSM unavailable"))
    assert r.trader.consider(intent("P"), time.time()) is None  # counted, not raised
    assert r.trader.counters.errors == {"sign": 1}
    assert "P" not in r.trader.in_flight
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None and signed.nonce == 0  # not 1: no hole behind the failure
    await r.idle()
    assert r.trader.nonces.holes(0) == []
    assert [n for n, *_ in r.journal()] == [0]
    await r.trader.close()


async def test_a_hole_is_found_on_the_next_block_and_filled(tmp_path: Path) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    leaked = r.trader.nonces.allocate()
    r.trader.nonces.open.pop(leaked)  # a nonce lost between allocation and use
    later = r.trader.consider(intent("P"), time.time())
    assert later is not None and later.nonce == 1
    await r.idle()
    assert r.trader.nonces.holes(r.rpc.chain_nonce) == [0]  # the nonce_gap gauge reads 1
    r.trader.on_block(2)
    await r.idle()
    assert r.trader.nonces.holes(r.rpc.chain_nonce) == []
    assert (0, "cancel", "broadcast", None) in r.journal()
    nonce, _, gas, to, value, data, *_sig = rlp.decode(bytes.fromhex(r.broadcaster.sent[-1][2:]))
    assert (int.from_bytes(nonce), int.from_bytes(gas), int.from_bytes(value), data) == (
        0, 21_000, 0, b""
    )  # fmt: skip
    assert "0x" + to.hex() == r.trader.owner  # the cancelling self-transfer
    assert r.trader.counters.failures.get("nonce_hole") == 1
    await r.trader.close()


async def test_a_hole_left_in_the_journal_is_filled_at_start(tmp_path: Path) -> None:
    r = rig(tmp_path)
    # Before a restart: nonce 1 journaled and sent, nonce 0 never used (the chain is at 0).
    r.trader.journal.record(
        nonce=1, tx_hash="0x" + "ab" * 32, raw_tx="0x00", kind="cancel", gas_price=10**9
    )
    r.rpc.known.add("0x" + "ab" * 32)
    await r.trader.reconcile(r.rpc)
    await r.idle()
    assert sorted(r.trader.pending) == [0, 1]
    assert r.trader.pending[0].latest.kind == "cancel"
    assert r.trader.nonces.holes(0) == []
    await r.trader.close()


async def test_errors_are_counted_by_stage_with_rate_limited_tracebacks(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)

    def broken(*_: Any) -> list[Any]:
        raise ZeroDivisionError("a pool with no reserves")

    r.trader.strategy.on_update = broken  # type: ignore[method-assign,assignment]
    caplog.set_level(logging.WARNING)
    for block in (5, 6, 7):
        r.trader._evaluate("0x" + "a1" * 20, (block, 0), 0.0)  # no exception escapes
    assert r.trader.counters.errors == {"strategy": 3}
    assert not r.trader.metrics.market_data_errors  # not disguised as market data
    tracebacks = [rec for rec in caplog.records if rec.exc_info]
    assert len(tracebacks) == 1 and "ZeroDivisionError" in caplog.text

    _fail_once(r.trader.risk, "check", KeyError("limit"))
    assert r.trader.consider(intent("P"), time.time()) is None
    assert r.trader.counters.errors["risk"] == 1
    await r.trader.close()


async def test_a_broadcaster_exception_is_counted_and_the_trade_stays_pending(
    tmp_path: Path,
) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)
    _fail_once(r.broadcaster, "send", RuntimeError("socket closed mid-write"))
    signed = r.trader.consider(intent("P"), time.time())
    assert signed is not None
    await r.idle()
    assert r.trader.counters.errors == {"broadcast": 1}
    assert list(r.trader.pending) == [0]
    r.trader.on_block(2)  # unknown to the node: the same bytes again
    await r.idle()
    assert r.broadcaster.sent == [signed.raw_hex]
    await r.trader.close()
