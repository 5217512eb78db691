"""A real Trader and Journal (SQLite) against a scripted chain and broadcaster, for the races
and refusals a real node produces only by chance."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from edge_node.control import Control, ControlService
from edge_node.execution.broadcast import BroadcastResult, classify
from edge_node.execution.journal import Journal
from edge_node.execution.sendlog import SendLog
from edge_node.execution.signing import TxSigner
from edge_node.execution.trader import Trader
from edge_node.execution.txbuild import ARBITRAGE_TOPIC
from edge_node.market.live import LiveOverlay
from edge_node.risk import RiskGate, RiskLimits
from edge_node.strategy.base import Reserves
from edge_node.strategy.intents import Intent
from edge_node.telemetry import Metrics
from shared.config import ControlConfig, ExecutionConfig
from shared.db import schema
from shared.db.engine import create_engine, migrate
from tests.support.waiting import WITHIN_S, eventually_async

# anvil's dev account 0: a well-known test key.
KEY = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
EXECUTOR = "0x" + "ee" * 20
CAPITAL = "0x" + "cc" * 20
POOLS = {"P": ("0x" + "a1" * 20, "0x" + "a2" * 20), "Q": ("0x" + "b1" * 20, "0x" + "b2" * 20)}


class ScriptedRpc:
    """Answers the trader's chain requests from plain fields a test sets."""

    name = "scripted"

    def __init__(self) -> None:
        self.chain_nonce = 0
        self.receipts: dict[str, dict[str, Any]] = {}
        self.known: set[str] = set()  # transactions the node has in its pool
        self.gas_price = 10**9
        self.delay = 0.0
        self.height = 0  # the block number this backend answers at

    async def request(self, method: str, params: Sequence[Any] = (), decoder: Any = None) -> Any:
        if self.delay:
            await asyncio.sleep(self.delay)
        if method == "eth_blockNumber":
            return hex(self.height)
        if method == "eth_getTransactionCount":
            return hex(self.chain_nonce)
        if method == "eth_getTransactionByHash":
            receipt = self.receipts.get(params[0])
            if receipt is not None:
                return {"hash": params[0], "blockNumber": receipt["blockNumber"]}
            return {"hash": params[0], "blockNumber": None} if params[0] in self.known else None
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(params[0])
        raise AssertionError(f"unexpected {method}")

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], decoder: Any = None
    ) -> list[Any]:
        out: list[Any] = []
        for method, params in calls:
            if method == "eth_gasPrice":
                out.append(hex(self.gas_price))
            elif method == "eth_getBalance":
                out.append(hex(100 * 10**18))
            elif method == "eth_call":
                out.append(hex(1000 * 10**18))
            else:
                out.append(await self.request(method, params))
        return out

    def mine(self, tx_hash: str, block: int, profit: int = 5 * 10**15) -> None:
        data = "0x" + (10**18).to_bytes(32, "big").hex() + profit.to_bytes(32, "big").hex()
        self.receipts[tx_hash] = {
            "status": "0x1",
            "blockNumber": hex(block),
            "gasUsed": hex(200_000),
            "effectiveGasPrice": hex(self.gas_price),
            "logs": [{"address": EXECUTOR, "topics": [ARBITRAGE_TOPIC], "data": data}],
        }
        self.chain_nonce += 1
        self.height = max(self.height, block)


class ScriptedBroadcaster:
    """Accepts (``refuse`` None) or refuses with a node's message; records what was sent."""

    def __init__(self, rpc: ScriptedRpc) -> None:
        self.rpc = rpc
        self.sent: list[str] = []
        self.refuse: str | Callable[[str], str | None] | None = None
        self.delay = 0.0

    async def send(self, raw_hex: str) -> BroadcastResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append(raw_hex)
        refusal = self.refuse(raw_hex) if callable(self.refuse) else self.refuse
        result = BroadcastResult()
        if refusal is None:
            result.accepted_by.append("node")
        else:
            result.refused["node"] = classify(refusal)
        return result

    async def close(self) -> None:
        return None


class PairsOnly:
    """A strategy that never wants anything: the tests hand the trader intents directly."""

    name = "scripted"
    gas_limit = 250_000
    capital_token = CAPITAL

    def on_update(
        self, pool: str, reserves: Reserves, gas_price: int, capital_available: int
    ) -> list[Intent]:
        return []

    def pair_of(self, pools: tuple[str, str]) -> str | None:
        return next((name for name, ab in POOLS.items() if set(ab) == set(pools)), None)


@dataclass
class _Head:
    timestamp: float = field(default_factory=time.time)
    number: int = 1


@dataclass
class _Book:
    head: _Head = field(default_factory=_Head)
    pools: dict[str, Any] = field(default_factory=dict)


def intent(pair: str = "P", gas_price: int = 10**9) -> Intent:
    buy, sell = POOLS[pair]
    gas = 250_000 * gas_price
    return Intent(
        "scripted", pair, buy, 25, sell, 30, CAPITAL, 10**18, 1, 10**18 + 10**16,
        250_000, gas_price, gas, gas + 1, 1, 0,
    )  # fmt: skip


@dataclass
class Rig:
    trader: Trader
    rpc: ScriptedRpc
    broadcaster: ScriptedBroadcaster
    engine: Engine
    audits: list[tuple[str, dict[str, Any]]]

    def journal(self) -> list[tuple[int, str, str, str | None]]:
        t = schema.tx_journal
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return [(r.nonce, r.kind, r.status, r.error_class) for r in rows]

    def trades(self) -> list[tuple[int | None, str]]:
        t = schema.trades
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id)).all()
        return [(r.nonce, r.status) for r in rows]

    async def idle(self, within: float = WITHIN_S) -> None:
        """Let the trader's background tasks run out (fails the test if they do not)."""
        await asyncio.sleep(0)  # what was just spawned gets to start
        await eventually_async(
            lambda: not self.trader._tasks, within, "the trader's tasks to finish", every=0.01
        )


def rig(
    tmp: Path,
    *,
    tx_type: str = "legacy",
    max_gas_price: int = 10**12,
    rpc: ScriptedRpc | None = None,
    send_log: bool = False,
    **execution: Any,
) -> Rig:
    engine = create_engine(f"sqlite:///{tmp}/trader.db")
    migrate(engine)
    signer = TxSigner(KEY, 31337)
    # Settled at the first receipt unless a test asks for more (as before confirmations).
    execution.setdefault("confirmations", 1)
    cfg = ExecutionConfig(
        executor=EXECUTOR, owner=signer.address.lower(), tx_type=tx_type, **execution
    )
    rpc = rpc or ScriptedRpc()
    broadcaster = ScriptedBroadcaster(rpc)
    audits: list[tuple[str, dict[str, Any]]] = []
    book = _Book()
    trader = Trader(
        cfg=cfg,
        chain_id=31337,
        book=book,  # type: ignore[arg-type]
        overlay=LiveOverlay(book),  # type: ignore[arg-type]
        control_service=ControlService(Control(), engine, ControlConfig()),
        risk=RiskGate(RiskLimits(10**30, 10**30, max_gas_price, 0, 1000, 1e9)),
        strategy=PairsOnly(),
        journal=Journal(engine, 31337, cfg.owner),
        metrics=Metrics(),
        rpc=lambda: rpc,
        audit=lambda action, detail: audits.append((action, detail)),
        signer=signer,
        broadcaster=broadcaster,  # type: ignore[arg-type]
        send_log=SendLog(tmp / "trader.db-sendlog") if send_log else None,
    )
    return Rig(trader, rpc, broadcaster, engine, audits)
