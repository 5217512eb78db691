"""Trading on a local chain in tests: the demo's arbitrage setup, and checks against the chain.

The chain mines only when a test says so (``mine``), so a transaction the node sends stays
pending for as long as the test needs it to: that is how a stop is pulled "while a transaction
is pending".
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from sqlalchemy import Engine, select
from web3 import Web3

from edge_node.demo import node_config_for, trading_sections
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, capital_balance, deploy_arbitrage
from edge_node.devchain.market import Trader, contract_at, prepare_traders, read_reserves, web3_for
from edge_node.execution.trader import Trader as BotTrader
from edge_node.service import EdgeNode
from shared.config import NodeConfig
from shared.db import schema
from shared.db.engine import create_engine
from tests.support.node import TOKEN, running
from tests.support.waiting import WITHIN_S, eventually_async

CHAIN_ID = 31337


@dataclass
class ArbChain:
    anvil: Anvil
    setup: ArbSetup
    traders: list[Trader]

    @property
    def bot(self) -> str:
        return self.setup.bot.address

    @property
    def bot_key(self) -> str:
        return self.setup.bot.private_key

    def config(
        self, store_url: str, trading: dict[str, dict[str, Any]] | None = None, **chain: Any
    ) -> NodeConfig:
        sections = trading_sections(self.setup)
        sections["risk"]["max_data_age_s"] = 600  # the chain mines when the test says so
        sections["control"] = {"poll_interval_s": 0.2}
        # Settled at the first receipt (tests that mine one block per trade); the reorg tests
        # ask for more.
        sections["execution"]["confirmations"] = 1
        for key, values in (trading or {}).items():
            sections[key] = {**sections.get(key, {}), **values}
        chain = {
            "liveness_timeout_s": 120.0,  # manual mining: heads come when the test mines
            "probe_interval_s": 0.5,
            "backoff_initial_s": 0.05,
            "backoff_max_s": 0.5,
            "request_timeout_s": 3.0,
            **chain,
        }
        return node_config_for(
            self.anvil, self.setup.market, store_url, TOKEN, trading=sections, **chain
        )

    # --- the chain --------------------------------------------------------------------------

    def mine(self, n: int = 1) -> int:
        self.anvil.mine(n)
        return self.anvil.block_number()

    def open_gap(self, fraction: float = 0.03, sell_capital: bool = True, mine: bool = True) -> str:
        """One router swap in the shallow pool moving its price by about ``fraction``, far
        more than the round trip's fees (0.55%), mined unless ``mine`` is false. Returns the
        swap's hash."""
        w3 = web3_for(self.anvil)
        pair = self.setup.arb_pairs[1]
        capital = self.setup.capital_address
        r0, r1 = read_reserves(w3, pair.address)
        capital_reserve, other_reserve = (r0, r1) if pair.token0 == capital else (r1, r0)
        if sell_capital:
            token_in, amount = capital, int(capital_reserve * fraction / 2)
        else:
            other = pair.token1 if pair.token0 == capital else pair.token0
            token_in, amount = other, int(other_reserve * fraction / 2)
        router = contract_at(w3, "TrafficRouter", self.setup.market.router)
        trader = self.traders[0].address
        tx = router.functions.swapExactIn(pair.address, token_in, amount, 0, trader).transact(
            {"from": trader, "gas": 300_000}
        )
        if mine:
            self.mine()
            receipt = w3.eth.get_transaction_receipt(tx)
            assert receipt["status"] == 1, "the gap-opening swap reverted"
        return "0x" + bytes(tx).hex()

    def capital(self) -> int:
        return capital_balance(self.anvil, self.setup)

    def bot_nonce(self, tag: str = "latest") -> int:
        return int(self.anvil.rpc("eth_getTransactionCount", [self.bot, tag]), 16)

    def bot_pool(self) -> list[dict[str, Any]]:
        """The bot's transactions waiting in anvil's pool."""
        content = self.anvil.rpc("txpool_content")
        pending = content.get("pending", {})
        mine: dict[str, dict[str, Any]] = next(
            (v for k, v in pending.items() if k.lower() == self.bot.lower()), {}
        )
        return list(mine.values())

    def bot_mined(self, from_block: int, to_block: int | None = None) -> list[dict[str, Any]]:
        """The bot's transactions mined in blocks ``from_block``.. (inclusive), oldest first."""
        last = self.anvil.block_number() if to_block is None else to_block
        out: list[dict[str, Any]] = []
        for n in range(from_block, last + 1):
            block = self.anvil.rpc("eth_getBlockByNumber", [hex(n), True])
            out.extend(t for t in block["transactions"] if t["from"].lower() == self.bot.lower())
        return out

    def is_cancel(self, tx: dict[str, Any]) -> bool:
        """A zero-value self-transfer without data: what a stop replaces pending trades with."""
        return (
            (tx.get("to") or "").lower() == self.bot.lower()
            and int(tx["value"], 16) == 0
            and tx.get("input", "0x") in ("0x", "")
        )


def start_arb_chain() -> ArbChain:
    """anvil (automine while deploying, then mining only on request) with the demo's setup."""
    anvil = Anvil(chain_id=CHAIN_ID, block_time=None).start()
    setup = deploy_arbitrage(anvil, extra_pairs=())
    traders = prepare_traders(anvil, setup.market, [1, 2])
    anvil.set_automine(False)
    return ArbChain(anvil, setup, traders)


def running_arb_chain() -> Iterator[ArbChain]:
    """The arbitrage chain for one test, stopped after it; a module makes it its ``chain``
    fixture with ``chain = pytest.fixture(running_arb_chain, name="chain")``."""
    c = start_arb_chain()
    try:
        yield c
    finally:
        c.anvil.stop()


# --- the node, seen from the test ---------------------------------------------------------------


@contextlib.asynccontextmanager
async def trading(node: EdgeNode) -> AsyncIterator[BotTrader]:
    """The node running, its trader reconciled and ready: the trader."""
    async with running(node):
        await trader_ready(node)
        assert node.desk is not None and node.desk.trader is not None
        yield node.desk.trader


async def trader_ready(node: EdgeNode, within: float = WITHIN_S) -> None:
    await eventually_async(
        lambda: node.desk is not None and node.desk.trader is not None and node.desk.trader.ready,
        within,
        "the trader to reconcile and be ready",
    )


async def caught_up_to(node: EdgeNode, number: int, within: float = WITHIN_S) -> None:
    await eventually_async(
        lambda: node.book.head is not None and node.book.head.number >= number,
        within,
        f"the node to process block {number}",
    )


async def trader_done_with(node: EdgeNode, trader: BotTrader, number: int) -> None:
    """Waits until the node has processed block ``number`` and the trader has looked at its
    pending transactions for it (nothing of its own still running): the positive sentinel
    after which whatever the block made the trader do (settle, speed up, send again) is done."""
    await caught_up_to(node, number)
    await eventually_async(
        lambda: trader.last_block >= number and not trader._tasks,
        WITHIN_S,
        f"the trader to be done with block {number}",
    )


async def a_trade_pending(chain: ArbChain, node: EdgeNode, within: float = WITHIN_S) -> str:
    """Waits until the node has broadcast a trade that sits in anvil's pool; its hash."""
    assert node.desk is not None

    def sent() -> bool:
        t = node.desk.trader if node.desk else None
        return t is not None and any(
            p.trade_id is not None and p.txs and p.txs[0].kind == "trade"
            for p in t.pending.values()
        )

    await eventually_async(sent, within, "a trade to be sent")
    pool = await eventually_async(
        chain.bot_pool, within, "the trade to reach anvil's pool", in_thread=True
    )
    return str(pool[0]["hash"])


async def trade_once(chain: ArbChain, node: EdgeNode) -> str:
    """Opens a gap, waits for the node's trade to be pending, mines it; the trade's hash."""
    await asyncio.to_thread(chain.open_gap)
    tx = await a_trade_pending(chain, node)
    head = await asyncio.to_thread(chain.mine)
    await caught_up_to(node, head)
    return tx


async def prometheus_text(node: EdgeNode) -> str:
    assert node.api is not None
    url = f"http://127.0.0.1:{node.api.port}/prometheus"
    async with (
        aiohttp.ClientSession() as s,
        s.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) as resp,
    ):
        assert resp.status == 200
        return await resp.text()


def import_send_log(store_url: str, chain: ArbChain) -> int:
    """What a restart does first: the send log's records the store lacks, copied into it."""
    from edge_node.execution.journal import Journal
    from edge_node.execution.sendlog import SendLog, send_log_path

    path = send_log_path(store_url)
    if path is None or not path.exists():
        return 0
    engine = create_engine(store_url)
    journal = Journal(engine, CHAIN_ID, chain.bot)
    log = SendLog(path)
    try:
        return journal.import_send_log(*log.read())
    finally:
        log.close()
        journal.close()
        engine.dispose()


def journal_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(schema.tx_journal).order_by(schema.tx_journal.c.id)).all())


def trade_rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(schema.trades).order_by(schema.trades.c.id)).all())


def assert_journal_agrees_with_chain(chain: ArbChain, engine: Engine) -> dict[str, int]:
    """Every journaled transaction is settled as the chain says, no nonce was reused or
    skipped, and every live trade matches its receipt. Returns counts by journal status."""
    rows = journal_rows(engine)
    assert rows, "nothing was journaled"
    by_nonce: dict[int, list[Any]] = {}
    for r in rows:
        by_nonce.setdefault(r.nonce, []).append(r)
    chain_nonce = chain.bot_nonce()
    nonces = sorted(by_nonce)
    used = [n for n in nonces if n < chain_nonce]
    # The journal holds every nonce the chain used since its first, with no hole.
    assert used == list(range(nonces[0], chain_nonce)), f"nonces {nonces}, chain at {chain_nonce}"
    for nonce, group in by_nonce.items():
        mined = []
        for r in group:
            receipt = chain.anvil.rpc("eth_getTransactionReceipt", [r.tx_hash])
            if receipt is not None:
                mined.append((r, receipt))
        if nonce >= chain_nonce:
            # Never used on chain: only a transaction stopped before it was broadcast (its
            # nonce given back) may be left here, and nothing of it is open.
            assert not mined
            assert all(r.status == "failed" for r in group), [r.status for r in group]
            continue
        assert len(mined) == 1, f"nonce {nonce}: {len(mined)} of its transactions mined"
        row, receipt = mined[0]
        want = "mined" if int(receipt["status"], 16) == 1 else "reverted"
        assert row.status == want, f"nonce {nonce}: journal says {row.status}, chain {want}"
        assert row.block_number == int(receipt["blockNumber"], 16)
        for other in group:
            if other is not row:
                assert other.status in ("replaced", "failed"), (nonce, other.status)
    for t in trade_rows(engine):
        if t.mode != "live" or t.status not in ("mined", "reverted"):
            continue
        receipt = chain.anvil.rpc("eth_getTransactionReceipt", [t.tx_hash])
        assert receipt is not None, f"trade {t.id}: no receipt for {t.tx_hash}"
        assert (int(receipt["status"], 16) == 1) == (t.status == "mined"), t.id
        assert int(receipt["blockNumber"], 16) == t.block_number, t.id
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return counts


def checksum(address: str) -> str:
    return Web3.to_checksum_address(address)
