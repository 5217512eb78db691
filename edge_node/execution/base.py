"""The trader's foundation: its collaborators and state, the journal thread, its background
tasks, the fees it signs with, and the chain readings it sizes trades on (gas price, balances,
the account's nonce).

The trader is built in layers, each a module named for what it adds:
``base`` -> ``sending`` (journal, broadcast, replace) -> ``tracking`` (receipts, confirmations,
reorgs) -> ``stopping`` (the emergency stop) -> ``reconcile`` (start-up) -> ``trader`` (the
hot path from a pool update to a signature).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from edge_node.control import ControlService, TradingState
from edge_node.execution import txbuild
from edge_node.execution.broadcast import Broadcaster
from edge_node.execution.journal import Journal
from edge_node.execution.nonces import NonceManager
from edge_node.execution.sendlog import SendLog
from edge_node.execution.signed_tx import SignedTx
from edge_node.execution.signing import TxSigner
from edge_node.execution.state import Gauges, PendingNonce, Settled, TradeCounters
from edge_node.execution.txbuild import Fees
from edge_node.ingest.follower import Rpc
from edge_node.market.book import MarketBook
from edge_node.market.live import LiveOverlay
from edge_node.risk import RiskGate
from edge_node.rpc.errors import EndpointUnavailable, RpcError
from edge_node.strategy.base import Strategy
from edge_node.strategy.intents import Intent
from edge_node.telemetry import Metrics
from shared.config import ExecutionConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

# A trading error's traceback is logged at most this often per stage (each is counted).
ERROR_TRACEBACK_EVERY_S = 60.0


class TraderBase:
    def __init__(
        self,
        *,
        cfg: ExecutionConfig,
        chain_id: int,
        book: MarketBook,
        overlay: LiveOverlay,
        control_service: ControlService,
        risk: RiskGate,
        strategy: Strategy,
        journal: Journal,
        metrics: Metrics,
        rpc: Callable[[], Rpc | None],
        audit: Callable[[str, dict[str, Any]], None],
        signer: TxSigner | None = None,
        broadcaster: Broadcaster | None = None,
        send_log: SendLog | None = None,
    ) -> None:
        if (signer is None) != (broadcaster is None):
            raise ValueError("live trading needs both a signer and a broadcaster")
        self.cfg = cfg
        self.chain_id = chain_id
        self.book = book
        self.overlay = overlay
        self.control_service = control_service
        self.risk = risk
        self.strategy = strategy
        self.journal = journal
        self.metrics = metrics
        self.rpc = rpc
        self.audit = audit
        self.signer = signer
        self.broadcaster = broadcaster
        self.send_log = send_log if signer is not None else None
        self.mode = "live" if signer is not None else "paper"
        self.executor = cfg.executor
        self.owner = cfg.owner
        self.nonces = NonceManager()
        self.in_flight: dict[str, int] = {}  # pair -> nonce (live) or -1 (a paper simulation)
        self.pending: dict[int, PendingNonce] = {}
        self.recent: dict[int, Settled] = {}  # nonce -> settled in a block a reorg may remove
        self.gauges = Gauges()
        self.counters = TradeCounters()
        self.ready = False
        self.last_block = 0
        self.calldata = txbuild.Calldata()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        # Rows nothing is sent on (refusals): never queued in front of a trade's journal write.
        self._io_side = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal-side")
        self._tracking = asyncio.Lock()
        self._track_again = False
        self._refusal_audit: dict[str, float] = {}
        self._error_logged: dict[str, float] = {}  # stage -> when a traceback was last logged
        self._evaluated: dict[str, tuple[int, int]] = {}  # pool -> last state position evaluated
        self._deferred: set[str] = set()  # pools changed by blocks behind the chain head
        # The last trades' timings (seconds from the triggering update), newest last.
        self.latencies: deque[dict[str, float]] = deque(maxlen=1000)
        self._template: Any = None
        self.last_stop_report: dict[str, Any] | None = None
        self._build_template()

    def durability(self) -> str:
        """What is on disk before a trade is broadcast, in words (status, benchmarks)."""
        store = self.journal.engine.url.get_backend_name()
        commit = "synchronous=FULL" if store == "sqlite" else "synchronous_commit=on"
        if self.send_log is not None:
            return (
                f"send log {self.send_log.path} fdatasync'd before the broadcast; "
                f"copied to the store ({store}, {commit}) after it"
            )
        return f"store commit ({store}, {commit}) before the broadcast"

    @property
    def trading_state(self) -> TradingState:
        return self.control_service.control.state

    def _build_template(self) -> None:
        if self.signer is None:
            return
        to = bytes.fromhex(self.executor[2:])
        gas = self.strategy.gas_limit
        if self.cfg.tx_type == "legacy":
            self._template = self.signer.legacy_template(to, gas)
        else:
            self._template = self.signer.eip1559_template(to, gas)

    def params_changed(self) -> None:
        """Strategy parameters were reloaded (the gas limit is part of the template)."""
        self._build_template()

    # --- the journal thread and background tasks ------------------------------------------------

    async def _db(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._io, lambda: fn(*args, **kw))

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("trader task failed", exc_info=task.exception())

    def _trading_error(self, stage: str, err: BaseException) -> None:
        """An unexpected exception on the trading path: counted under its stage, and logged
        with its traceback (at most once per ``ERROR_TRACEBACK_EVERY_S`` per stage)."""
        self.counters.error(stage)
        now = time.monotonic()
        last = self._error_logged.get(stage)
        if last is None or now - last >= ERROR_TRACEBACK_EVERY_S:
            self._error_logged[stage] = now
            log.error("trading error in %s: %r", stage, err, exc_info=err)
        else:
            log.warning("trading error in %s: %r (traceback logged recently)", stage, err)

    # --- fees -----------------------------------------------------------------------------------

    @property
    def _priority_fee(self) -> int:
        return int(self.cfg.priority_fee_gwei * 10**9)

    def _fees(self, price: int) -> Fees:
        return txbuild.first_fees(self.cfg.tx_type, price, self._priority_fee)

    def _bumped_fees(self, p: PendingNonce) -> Fees:
        return txbuild.bumped_fees(
            self.cfg.tx_type,
            p.latest.gas_price,
            p.latest.priority_fee,
            bump=self.cfg.replacement_bump,
            gas_price=self.gauges.gas_price,
            priority_fee=self._priority_fee,
        )

    def sign(self, intent: Intent, nonce: int, fees: Fees | None = None) -> SignedTx:
        """The trade as a signed transaction; ``fees`` (price, tip) for a replacement, else
        the intent's gas price."""
        data = self.calldata(intent)
        price, tip = fees or self._fees(intent.gas_price)
        if tip is None:
            return self._template.sign(nonce, price, 0, data)  # type: ignore[no-any-return]
        return self._template.sign(nonce, tip, price, 0, data)  # type: ignore[no-any-return]

    def _self_transfer(self, nonce: int, fees: Fees) -> SignedTx:
        assert self.signer is not None
        return txbuild.self_transfer(self.signer, nonce, fees)

    # --- chain readings -------------------------------------------------------------------------

    async def refresh(self, rpc: Rpc | None = None) -> bool:
        """Gas price, the owner's gas balance and the executor's capital, from the chain."""
        rpc = rpc or self.rpc()
        if rpc is None:
            return False
        try:
            gas_price, balance, capital, nonce = await rpc.batch(
                [
                    ("eth_gasPrice", []),
                    ("eth_getBalance", [self.owner, "latest"]),
                    ("eth_call", [self._balance_call(), "latest"]),
                    ("eth_getTransactionCount", [self.owner, "latest"]),
                ]
            )
        except (EndpointUnavailable, RpcError) as err:
            log.info("could not refresh trading gauges: %s", err)
            return False
        try:
            values = [int(v, 16) for v in (gas_price, balance, capital, nonce)]
        except (TypeError, ValueError):
            log.warning("could not refresh trading gauges: malformed answers from %s", rpc.name)
            return False
        g = self.gauges
        g.base_gas_price, g.gas_balance, g.capital, g.chain_nonce = values
        g.gas_price = int(g.base_gas_price * self.cfg.gas_price_multiplier)
        g.refreshed_at = time.time()
        return True

    def _balance_call(self) -> dict[str, str]:
        return txbuild.balance_call(self.strategy.capital_token, self.executor)

    async def resync(self) -> None:
        rpc = self.rpc()
        if rpc is None:
            return
        chain_nonce = int(await rpc.request("eth_getTransactionCount", [self.owner, "latest"]), 16)
        entries = await self._db(self.journal.open_entries)
        open_nonces: dict[int, list[str]] = {}
        for e in entries:
            open_nonces.setdefault(e.nonce, []).append(e.tx_hash)
        self.nonces.sync(chain_nonce, open_nonces)
        self.gauges.chain_nonce = chain_nonce
