"""The trader: from a pool update to a signed transaction, and from there to a settled trade.

The hot path runs synchronously inside the websocket reader, straight from the logs
subscription: a Sync updates the live overlay, the strategy looks at the pair, the risk gate
checks the intent, and in live mode the transaction is signed from a pre-encoded template
(``on_state_event``). Everything after signing is asynchronous:

1. journal: the trade and the signed bytes are committed to the store (nothing is sent before);
2. broadcast: the same bytes to every configured endpoint;
3. track, on every new block: a receipt settles the trade (mined or reverted); a transaction
   the endpoints forgot is rebroadcast (the same bytes); one not mined after
   ``replace_after_blocks`` is replaced by the same trade at a higher price; a nonce the chain
   used for something else is a nonce conflict (the nonces are resynced).

An emergency stop halts signing at once (the control state is checked before every
signature) and replaces each pending nonce with a zero-value self-transfer at a higher price,
then reports what is still exposed. At start, every journaled transaction is reconciled with
the chain before the first new trade. Paper mode (the default) has no key and no broadcaster:
each intent is simulated with ``eth_call`` and recorded as a paper trade.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any, TypeVar

from edge_node.chain.events import SyncEvent
from edge_node.chain.keccak import event_topic
from edge_node.control import ControlService, TradingState, Transition
from edge_node.execution import broadcast as bc
from edge_node.execution.broadcast import Broadcaster
from edge_node.execution.journal import Journal
from edge_node.execution.nonces import NonceGap, NonceManager
from edge_node.execution.signing import SignedTx, TxSigner, sign_self_transfer
from edge_node.ingest.follower import Rpc
from edge_node.market.book import MarketBook
from edge_node.market.live import LiveOverlay, StateEvent
from edge_node.risk import Outcome, Refusal, RiskGate
from edge_node.rpc.errors import EndpointUnavailable, ResponseInvalid, RpcError
from edge_node.strategy.base import Strategy
from edge_node.strategy.intents import Intent
from edge_node.telemetry import Metrics
from shared.config import ExecutionConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

# ArbExecutor.execute(address,uint16,address,uint16,address,uint256,uint256)
EXECUTE_SELECTOR = bytes.fromhex(
    event_topic("execute(address,uint16,address,uint16,address,uint256,uint256)")[2:10]
)
ARBITRAGE_TOPIC = event_topic("Arbitrage(address,address,address,uint256,uint256)")
BALANCE_OF = bytes.fromhex(event_topic("balanceOf(address)")[2:10])
FAULT_ENV = "EDGE_NODE_FAULT"  # test-only crash points: crash_after_journal, crash_after_broadcast
REFUSAL_AUDIT_EVERY_S = 30.0
# While the follower is more blocks than this behind the chain head it is catching up (after a
# start or an outage): the states it goes through are history, not opportunities, so the
# strategy is not asked. (One block of lag is normal: a head arrives before its logs.)
CATCHING_UP_BLOCKS = 2
# A stop's cancels are sped up like trades, and may go above the gas price limit (getting out
# matters more than the fee), up to this many times it.
CANCEL_PRICE_LIMIT_FACTOR = 5


def _fault(point: str) -> None:
    """A crash on purpose, for the fault tests: the process SIGKILLs itself between two
    steps, so nothing (no finally, no flush) runs after this point."""
    if os.environ.get(FAULT_ENV) == point:
        log.critical("fault injection: SIGKILL at %s", point)
        os.kill(os.getpid(), signal.SIGKILL)


def _word(v: int) -> bytes:
    return v.to_bytes(32, "big")


def _address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


# (gas price, or the max fee per gas of an EIP-1559 transaction; its priority fee, None if legacy)
Fees = tuple[int, int | None]


@dataclass
class SentTx:
    tx_hash: str
    raw_hex: str
    gas_price: int  # legacy gas price, or EIP-1559 max fee per gas
    kind: str  # trade | speedup | cancel
    priority_fee: int | None = None  # EIP-1559 only


@dataclass
class PendingNonce:
    nonce: int
    trade_id: int | None
    pair: str | None
    intent: Intent | None
    txs: list[SentTx]
    sent_block: int
    cancelled: bool = False
    capped: bool = False  # a speed-up was held back by the gas price limit

    @property
    def latest(self) -> SentTx:
        return self.txs[-1]


@dataclass
class Gauges:
    gas_price: int = 0  # wei, the price the trader signs with (after the multiplier)
    base_gas_price: int = 0
    gas_balance: int = 0
    capital: int = 0
    chain_nonce: int = 0
    refreshed_at: float = 0.0


@dataclass
class TradeCounters:
    by_status: dict[tuple[str, str], int] = field(default_factory=dict)  # (mode, status)
    failures: dict[str, int] = field(default_factory=dict)  # class -> count
    signed: int = 0
    cancels: int = 0
    speedups: int = 0
    rebroadcasts: int = 0

    def status(self, mode: str, status: str) -> None:
        self.by_status[(mode, status)] = self.by_status.get((mode, status), 0) + 1

    def failure(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1


class Trader:
    def __init__(
        self,
        *,
        cfg: ExecutionConfig,
        chain_id: int,
        book: MarketBook,
        overlay: LiveOverlay,
        control: ControlService,
        risk: RiskGate,
        strategy: Strategy,
        journal: Journal,
        metrics: Metrics,
        rpc: Callable[[], Rpc | None],
        audit: Callable[[str, dict[str, Any]], None],
        signer: TxSigner | None = None,
        broadcaster: Broadcaster | None = None,
    ) -> None:
        if (signer is None) != (broadcaster is None):
            raise ValueError("live trading needs both a signer and a broadcaster")
        self.cfg = cfg
        self.chain_id = chain_id
        self.book = book
        self.overlay = overlay
        self.control = control
        self.risk = risk
        self.strategy = strategy
        self.journal = journal
        self.metrics = metrics
        self.rpc = rpc
        self.audit = audit
        self.signer = signer
        self.broadcaster = broadcaster
        self.mode = "live" if signer is not None else "paper"
        self.executor = cfg.executor
        self.owner = cfg.owner
        self.nonces = NonceManager()
        self.in_flight: dict[str, int] = {}  # pair -> nonce (live) or -1 (a paper simulation)
        self.pending: dict[int, PendingNonce] = {}
        self.gauges = Gauges()
        self.counters = TradeCounters()
        self.ready = False
        self.last_block = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._tracking = asyncio.Lock()
        self._track_again = False
        self._refusal_audit: dict[str, float] = {}
        self._calldata_prefix: dict[tuple[str, str], bytes] = {}
        self._evaluated: dict[str, tuple[int, int]] = {}  # pool -> last state position evaluated
        self._deferred: set[str] = set()  # pools changed by blocks behind the chain head
        # The last trades' timings (seconds from the triggering update), newest last.
        self.latencies: deque[dict[str, float]] = deque(maxlen=1000)
        self._template: Any = None
        self.last_stop_report: dict[str, Any] | None = None
        self._build_template()

    # --- set-up ---------------------------------------------------------------------------------

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

    # --- the hot path ---------------------------------------------------------------------------

    def _reserves(self, pool: str) -> tuple[int, int, int, int]:
        """The freshest reserves: the newest Sync off the subscription, else the book's."""
        live = self.overlay.pools.get(pool)
        if live is not None and isinstance(live[0], SyncEvent):
            ev = live[0]
            return ev.reserve0, ev.reserve1, ev.block_number, ev.log_index
        s = self.book.pools[pool].state
        return s.reserve0, s.reserve1, s.block, s.log_index

    def data_age(self, now: float) -> float:
        head = self.book.head
        return float("inf") if head is None or not head.timestamp else now - head.timestamp

    def on_state_event(self, ev: StateEvent) -> None:
        """Handler of every Sync (and V3 Swap) off the subscription; see the module docstring."""
        t0 = perf_counter()
        if self.overlay.apply(ev) is None:
            return  # not newer than what the book or the overlay holds
        self._evaluate(ev.pool, (ev.block_number, ev.log_index), t0)

    def on_commit(self, number: int, pools: Iterable[str]) -> None:
        """A block was confirmed. The subscription may not have delivered its logs yet (anvil,
        for one, sends a block's head before its logs), so every pool whose confirmed state is
        newer than the state last evaluated is evaluated now: no opportunity depends on which
        of the two paths came first, and none is evaluated twice."""
        t0 = perf_counter()
        self.overlay.catch_up(number)
        head = self.metrics.chain_head
        if head is not None and number < head:
            # A block from the past (catching up after a start or an outage): its states are
            # history. The pools it changed are looked at once the newest block is in.
            self._deferred.update(pools)
        else:
            if self._deferred:
                pools = self._deferred.union(pools)
                self._deferred.clear()
            for pool in pools:
                state = self.book.pools[pool].state
                self._evaluate(pool, (state.block, state.log_index), t0)
        self.on_block(number)

    def _evaluate(self, pool: str, position: tuple[int, int], t0: float) -> None:
        if position <= self._evaluated.get(pool, (-1, -1)):
            return
        self._evaluated[pool] = position
        if not self.ready or self.control.control.state is not TradingState.RUNNING:
            return
        if self.metrics.head_lag_blocks > CATCHING_UP_BLOCKS:
            return
        g = self.gauges
        for intent in self.strategy.on_update(pool, self._reserves, g.gas_price, g.capital):
            self.consider(intent, time.time(), t0)

    def consider(self, intent: Intent, now: float, t0: float | None = None) -> SignedTx | None:
        """Risk-check one intent and act on it; returns the signed transaction in live mode.
        ``t0``: when the update that triggered it arrived (``perf_counter``), for the latency
        histogram."""
        if intent.pair in self.in_flight:
            return None  # one trade per pair at a time: the next one sees its effect
        g = self.gauges
        refusal = self.risk.check(
            intent,
            gas_price=g.gas_price,
            gas_balance=g.gas_balance,
            data_age_s=self.data_age(now),
            now=now,
        )
        if refusal is not None:
            self._refused(intent, refusal, now)
            return None
        if self.signer is None:
            self.in_flight[intent.pair] = -1
            self._spawn(self._simulate(intent))
            return None
        if self.control.control.state is not TradingState.RUNNING:
            return None  # checked again right before signing: a stop wins every race
        nonce = self.nonces.allocate()
        signed = self.sign(intent, nonce)
        if t0 is None:
            t0, signed_s = perf_counter(), 0.0
        else:
            signed_s = perf_counter() - t0
            self.metrics.observe_trade_latency("signed", signed_s)
        self.in_flight[intent.pair] = nonce
        self.counters.signed += 1
        self._spawn(self._submit(intent, signed, t0, signed_s))
        return signed

    def calldata(self, intent: Intent) -> bytes:
        key = (intent.pool_buy, intent.pool_sell)
        prefix = self._calldata_prefix.get(key)
        if prefix is None:
            prefix = self._calldata_prefix[key] = b"".join(
                (
                    EXECUTE_SELECTOR,
                    _address_word(intent.pool_buy),
                    _word(intent.fee_buy_bps),
                    _address_word(intent.pool_sell),
                    _word(intent.fee_sell_bps),
                    _address_word(intent.token_in),
                )
            )
        return prefix + _word(intent.amount_in) + _word(intent.min_profit)

    def sign(self, intent: Intent, nonce: int, fees: Fees | None = None) -> SignedTx:
        """The trade as a signed transaction; ``fees`` (price, tip) for a replacement, else
        the intent's gas price."""
        data = self.calldata(intent)
        price, tip = fees or self._fees(intent.gas_price)
        if tip is None:
            return self._template.sign(nonce, price, 0, data)  # type: ignore[no-any-return]
        return self._template.sign(nonce, tip, price, 0, data)  # type: ignore[no-any-return]

    def _fees(self, price: int) -> Fees:
        """(gas price or max fee, priority fee or None for legacy) of a first transaction."""
        if self.cfg.tx_type == "legacy":
            return price, None
        return price, min(int(self.cfg.priority_fee_gwei * 10**9), price)

    def _bumped_fees(self, p: PendingNonce) -> Fees:
        """Fees of a replacement of ``p``'s latest transaction. Nodes replace only when every
        fee rises by their bump (geth: both the max fee and the tip, for EIP-1559)."""
        price = self._bumped(p)
        if self.cfg.tx_type == "legacy":
            return price, None
        configured = int(self.cfg.priority_fee_gwei * 10**9)
        previous = p.latest.priority_fee if p.latest.priority_fee is not None else configured
        tip = max(int(previous * self.cfg.replacement_bump) + 1, configured)
        return max(price, tip), tip

    def _refused(self, intent: Intent, refusal: Refusal, now: float) -> None:
        self.metrics.risk_refusal(refusal.limit)
        if refusal.pause:
            self.control.pause_now("risk", refusal.detail)
        # Every refusal is counted; the audit log gets one entry per limit per interval, with
        # the count, so a persistent condition does not flood it.
        last = self._refusal_audit.get(refusal.limit, 0.0)
        if now - last >= REFUSAL_AUDIT_EVERY_S or refusal.pause:
            self._refusal_audit[refusal.limit] = now
            self.audit(
                "risk_refusal",
                {
                    "limit": refusal.limit,
                    "detail": refusal.detail,
                    "pair": intent.pair,
                    "amount_in": str(intent.amount_in),
                    "refusals_so_far": self.risk.refusals.get(refusal.limit, 0),
                },
            )

    # --- paper mode -----------------------------------------------------------------------------

    async def _simulate(self, intent: Intent) -> None:
        try:
            trade_id = await self._db(
                self.journal.insert_trade, self._trade_values(intent, "paper", "intended")
            )
            rpc = self.rpc()
            if rpc is None:
                await self._db(
                    self.journal.update_trade,
                    trade_id,
                    status="simulation_failed",
                    detail=json.dumps({"error": "no endpoint connected"}),
                )
                return
            call = {
                "from": self.owner,
                "to": self.executor,
                "data": "0x" + self.calldata(intent).hex(),
                "gas": hex(intent.gas_limit),
            }
            try:
                result = await rpc.request("eth_call", [call, "latest"])
                profit = int(result, 16)
                status, detail = "simulated", {"simulated_profit": str(profit)}
            except RpcError as err:
                profit, status = 0, "simulation_failed"
                detail = {"revert": err.message[:300]}
            await self._db(
                self.journal.update_trade,
                trade_id,
                status=status,
                profit=profit,
                gas_cost=intent.gas_cost,
                detail=json.dumps(detail),
            )
            self.counters.status("paper", status)
        except (EndpointUnavailable, ResponseInvalid) as err:
            log.info("paper simulation failed: %s", err)
        finally:
            self.in_flight.pop(intent.pair, None)

    def _trade_values(self, intent: Intent, mode: str, status: str) -> dict[str, Any]:
        return {
            "mode": mode,
            "strategy": intent.strategy,
            "pool_buy": intent.pool_buy,
            "pool_sell": intent.pool_sell,
            "token_in": intent.token_in,
            "amount_in": intent.amount_in,
            "expected_profit": intent.expected_profit,
            "min_profit": intent.min_profit,
            "gas_limit": intent.gas_limit,
            "gas_price": intent.gas_price,
            "status": status,
            "trigger_block": intent.trigger_block,
            "trigger_log_index": intent.trigger_log_index,
            "detail": json.dumps({"expected_net": str(intent.expected_net)}),
        }

    # --- live: journal, broadcast ---------------------------------------------------------------

    async def _submit(
        self, intent: Intent, signed: SignedTx, t0: float = 0.0, signed_s: float = 0.0
    ) -> None:
        nonce = signed.nonce
        try:
            trade_id, _ = await self._db(
                self.journal.record,
                nonce=nonce,
                tx_hash=signed.hash_hex,
                raw_tx=signed.raw_hex,
                kind="trade",
                gas_price=intent.gas_price,
                priority_fee=self._fees(intent.gas_price)[1],
                trade=self._trade_values(intent, "live", "submitted"),
            )
        except Exception as err:
            # Not journaled, so never sent: the nonce goes back (or is filled if it cannot).
            log.error("journal write failed, trade dropped before broadcast: %s", err)
            self.counters.failure("journal")
            self.in_flight.pop(intent.pair, None)
            try:
                self.nonces.release(nonce)
            except NonceGap:
                self._spawn(self._fill(nonce))
            return
        journaled = perf_counter() - t0
        self.metrics.observe_trade_latency("journaled", journaled)
        _fault("crash_after_journal")
        if self.control.control.state is TradingState.STOPPED:
            # Stopped while the journal was being written: this trade is never sent. The
            # journal says so (a restart must not send it either); the nonce is given back,
            # or filled with a self-transfer if a later one is already taken.
            await self._db(self.journal.settle, signed.hash_hex, "failed", error_class="stopped")
            if trade_id is not None:
                await self._db(
                    self.journal.update_trade,
                    trade_id,
                    status="cancelled",
                    detail=json.dumps({"error": "stopped before broadcast"}),
                )
            self.in_flight.pop(intent.pair, None)
            try:
                self.nonces.release(nonce)
            except NonceGap:
                await self._fill(nonce)
            return
        self.nonces.attach(nonce, signed.hash_hex)
        self.pending[nonce] = PendingNonce(
            nonce,
            trade_id,
            intent.pair,
            intent,
            [
                SentTx(
                    signed.hash_hex,
                    signed.raw_hex,
                    intent.gas_price,
                    "trade",
                    self._fees(intent.gas_price)[1],
                )
            ],
            self.last_block,
        )
        sent_at = await self._broadcast(self.pending[nonce], signed.raw_hex, signed.hash_hex)
        if sent_at is not None:
            accepted = sent_at - t0
            self.metrics.observe_trade_latency("accepted", accepted)
            self.latencies.append(
                {
                    "nonce": nonce,
                    "t0": t0,
                    "signed": signed_s,
                    "journaled": journaled,
                    "accepted": accepted,
                }
            )
        _fault("crash_after_broadcast")

    async def _broadcast(self, p: PendingNonce, raw_hex: str, tx_hash: str) -> float | None:
        """Sends the bytes to every endpoint; when one accepted them (``perf_counter``), or
        None if none did."""
        assert self.broadcaster is not None
        result = await self.broadcaster.send(raw_hex)
        sent_at = perf_counter()
        await self._db(self.journal.mark_broadcast, tx_hash, result.error_class)
        if result.accepted:
            return sent_at
        kind = result.error_class or bc.REJECTED
        self.counters.failure(kind)
        log.warning("nonce %d: broadcast refused everywhere (%s)", p.nonce, kind)
        if kind == bc.NONCE_TOO_LOW:
            await self.resync()  # the tracker settles what actually happened to the nonce
        # Anything else stays pending: a refusal may pass (a rate limit, a gas spike, an
        # endpoint that forwarded it before timing out), and the nonce must not become a hole.
        # The tracker sends the same bytes again while no endpoint knows them, replaces them
        # after ``replace_after_blocks``, and a stop cancels them.
        return None

    async def _fill(self, nonce: int) -> None:
        """Use a nonce that must not stay a hole: a zero-value self-transfer."""
        if self.signer is None:
            return
        fees = self._fees(self.gauges.gas_price)
        await self._send_replacement(
            nonce, self._self_transfer(nonce, fees), fees, "cancel", None, None, create=True
        )

    def _self_transfer(self, nonce: int, fees: Fees) -> SignedTx:
        assert self.signer is not None
        price, tip = fees
        if tip is None:
            return sign_self_transfer(self.signer, nonce, gas_price=price)
        return sign_self_transfer(self.signer, nonce, max_fee=price, max_priority_fee=tip)

    async def _send_replacement(
        self,
        nonce: int,
        signed: SignedTx,
        fees: Fees,
        kind: str,
        trade_id: int | None,
        pair: str | None,
        *,
        create: bool = False,
    ) -> None:
        """Journal, then broadcast, another transaction for ``nonce``: a speed-up or a cancel
        of the pending one, or (``create``) a fill of a nonce nothing else will use."""
        p = self.pending.get(nonce)
        if p is None and not create:
            return  # settled meanwhile: nothing to replace
        price, tip = fees
        await self._db(
            self.journal.record,
            nonce=nonce,
            tx_hash=signed.hash_hex,
            raw_tx=signed.raw_hex,
            kind=kind,
            gas_price=price,
            priority_fee=tip,
            trade_id=trade_id,
        )
        self.nonces.attach(nonce, signed.hash_hex)
        p = self.pending.get(nonce)
        if p is None:
            p = self.pending[nonce] = PendingNonce(nonce, trade_id, pair, None, [], self.last_block)
        p.txs.append(SentTx(signed.hash_hex, signed.raw_hex, price, kind, tip))
        p.sent_block = self.last_block
        if kind == "cancel":
            p.cancelled = True
            self.counters.cancels += 1
        else:
            self.counters.speedups += 1
        await self._broadcast(p, signed.raw_hex, signed.hash_hex)

    def _bumped(self, p: PendingNonce) -> int:
        bump = int(p.latest.gas_price * self.cfg.replacement_bump) + 1
        return max(bump, self.gauges.gas_price)

    # --- tracking -------------------------------------------------------------------------------

    def on_block(self, number: int) -> None:
        """A new block was confirmed: check pending transactions (coalesced)."""
        self.last_block = number
        if not self.pending:
            return
        if self._tracking.locked():
            self._track_again = True  # the running check goes round once more
        else:
            self._spawn(self.track())

    async def track(self) -> None:
        async with self._tracking:
            self._track_again = True
            while self._track_again:
                self._track_again = False
                await self._track_once()

    async def _track_once(self) -> None:
        rpc = self.rpc()
        if rpc is None or not self.pending:
            return
        pending = list(self.pending.values())
        # The nonce first, the receipts after: a transaction mined in between then shows up
        # as mined, never as a nonce used by something else.
        chain_nonce = int(await rpc.request("eth_getTransactionCount", [self.owner, "latest"]), 16)
        hashes = [tx.tx_hash for p in pending for tx in p.txs]
        receipts = await rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        by_hash = dict(zip(hashes, receipts, strict=True))
        self.gauges.chain_nonce = chain_nonce
        for p in pending:
            if self.pending.get(p.nonce) is not p:
                continue  # settled meanwhile (a stop's cancel, a conflict)
            mined = next(
                ((tx, by_hash[tx.tx_hash]) for tx in p.txs if by_hash.get(tx.tx_hash)), None
            )
            if mined is not None:
                await self._settle(p, mined[0], mined[1])
            elif p.nonce < chain_nonce:
                await self._conflict(p)
            elif (
                self.last_block - p.sent_block >= self.cfg.replace_after_blocks
                and await self._replace(p)
            ):
                pass
            else:
                await self._check_dropped(rpc, p)

    async def _settle(self, p: PendingNonce, tx: SentTx, receipt: dict[str, Any]) -> None:
        ok = int(receipt.get("status", "0x0"), 16) == 1
        block = int(receipt["blockNumber"], 16)
        gas_used = int(receipt["gasUsed"], 16)
        price = int(receipt.get("effectiveGasPrice") or hex(tx.gas_price), 16)
        gas_cost = gas_used * price
        profit = self._profit_from(receipt) if ok and tx.kind != "cancel" else 0
        await self._db(
            self.journal.settle,
            tx.tx_hash,
            "mined" if ok else "reverted",
            block_number=block,
            gas_used=gas_used,
            effective_gas_price=price,
        )
        for other in p.txs:
            if other.tx_hash != tx.tx_hash:
                await self._db(self.journal.settle, other.tx_hash, "replaced")
        status = "cancelled" if tx.kind == "cancel" else ("mined" if ok else "reverted")
        if p.trade_id is not None:
            await self._db(
                self.journal.update_trade,
                p.trade_id,
                status=status,
                tx_hash=tx.tx_hash,
                block_number=block,
                profit=profit,
                gas_used=gas_used,
                gas_cost=gas_cost,
            )
        if p.trade_id is not None or tx.kind != "cancel":
            self.counters.status("live", status)
            if status == "reverted":
                self.counters.failure("reverted")
            self.risk.record(
                Outcome(success=status != "reverted", net=profit - gas_cost), time.time()
            )
        self.nonces.settle(p.nonce)
        self.pending.pop(p.nonce, None)
        if p.pair is not None:
            self.in_flight.pop(p.pair, None)
        log.info(
            "nonce %d settled: %s in block %d (profit %d, gas %d)",
            p.nonce,
            status,
            block,
            profit,
            gas_cost,
        )
        self._spawn(self.refresh())

    def _profit_from(self, receipt: dict[str, Any]) -> int:
        for entry in receipt.get("logs") or []:
            topics = entry.get("topics") or []
            if (
                topics
                and topics[0] == ARBITRAGE_TOPIC
                and entry.get("address", "").lower() == self.executor
            ):
                data = entry.get("data", "0x")
                return int(data[66:130], 16)  # (amountIn, profit)
        return 0

    async def _conflict(self, p: PendingNonce) -> None:
        """The chain used this nonce for a transaction the journal does not know."""
        log.error("nonce %d was used by an unknown transaction: nonce conflict", p.nonce)
        self.counters.failure("nonce_conflict")
        await self._journal_conflict(p)
        self.nonces.settle(p.nonce)
        self.pending.pop(p.nonce, None)
        if p.pair is not None:
            self.in_flight.pop(p.pair, None)
        await self.resync()

    async def _replace(self, p: PendingNonce) -> bool:
        """Not mined in time: the same trade again at a higher price (or a cancel if stopped).
        False if nothing was sent (no key, or the gas price limit holds a speed-up back)."""
        if self.signer is None:
            return False
        fees = self._bumped_fees(p)
        price = fees[0]
        if p.cancelled or p.intent is None or self.control.control.state is TradingState.STOPPED:
            if price > CANCEL_PRICE_LIMIT_FACTOR * self.risk.limits.max_gas_price:
                return False  # a cancel may go above the limit, but not without end
            signed = self._self_transfer(p.nonce, fees)
            await self._send_replacement(p.nonce, signed, fees, "cancel", p.trade_id, p.pair)
            return True
        cap = self.risk.limits.max_gas_price
        if price > cap:
            # A speed-up would break the gas price limit: the trade waits at its price (a
            # stop's cancel is the only replacement allowed above the limit).
            if not p.capped:
                p.capped = True
                log.warning(
                    "nonce %d: not sped up, %d wei would exceed the gas price limit %d",
                    p.nonce,
                    price,
                    cap,
                )
            return False
        signed = self.sign(p.intent, p.nonce, fees)
        await self._send_replacement(p.nonce, signed, fees, "speedup", p.trade_id, p.pair)
        return True

    async def _check_dropped(self, rpc: Rpc, p: PendingNonce) -> None:
        tx = p.latest
        seen = await rpc.request("eth_getTransactionByHash", [tx.tx_hash])
        if seen is None and self.broadcaster is not None:
            # The endpoints forgot it: send the very same bytes again.
            self.counters.rebroadcasts += 1
            self.counters.failure("dropped")
            log.warning("nonce %d: %s dropped; rebroadcasting", p.nonce, tx.tx_hash[:12])
            await self._broadcast(p, tx.raw_hex, tx.tx_hash)

    # --- the emergency stop ---------------------------------------------------------------------

    def _on_transition(self, t: Transition) -> None:
        if t.state is TradingState.STOPPED and self.signer is not None:
            self._spawn(self.cancel_pending(t.reason))

    async def cancel_pending(self, reason: str) -> dict[str, Any]:
        """Replace every pending nonce with a zero-value self-transfer at a higher price."""
        cancelled = []
        # Not while the tracker settles nonces: a nonce it settles is not cancelled after.
        async with self._tracking:
            for p in list(self.pending.values()):
                if p.cancelled or self.pending.get(p.nonce) is not p:
                    continue
                fees = self._bumped_fees(p)
                signed = self._self_transfer(p.nonce, fees)
                await self._send_replacement(p.nonce, signed, fees, "cancel", p.trade_id, p.pair)
                cancelled.append(p.nonce)
        report = self.exposure()
        report["cancelled_nonces"] = cancelled
        report["reason"] = reason
        self.last_stop_report = report
        self.audit("emergency_stop_exposure", report)
        log.critical("emergency stop: cancels sent for nonces %s; exposure %s", cancelled, report)
        return report

    def exposure(self) -> dict[str, Any]:
        return {
            "pending_nonces": sorted(self.pending),
            "pending_trades": [p.trade_id for p in self.pending.values() if p.trade_id],
            "capital": str(self.gauges.capital),
            "gas_balance": str(self.gauges.gas_balance),
        }

    async def drain(self, within: float) -> bool:
        """Wait (bounded) for every pending transaction to settle (the tracker settles them
        block by block; polling is all this needs), and for trades still being journaled or
        simulated: ``in_flight`` holds them from signing on."""
        deadline = time.monotonic() + within
        while (self.pending or self.in_flight) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        return not (self.pending or self.in_flight)

    # --- chain state ----------------------------------------------------------------------------

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
        token = self.strategy.capital_token
        data = BALANCE_OF + _address_word(self.executor)
        return {"to": token, "data": "0x" + data.hex()}

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

    async def reconcile(self, rpc: Rpc) -> dict[str, Any]:
        """Before the first new trade: settle every journaled transaction against the chain."""
        if self.signer is not None:
            # Today's losses and the failure streak so far count against the limits, restart
            # or not. (Trades still open are settled below, which counts them too.)
            now = time.time()
            daily_pnl, streak = await self._db(self.journal.risk_state, now)
            self.risk.restore(now, daily_pnl, streak)
        entries = await self._db(self.journal.open_entries)
        by_nonce: dict[int, list[Any]] = {}
        for e in entries:
            by_nonce.setdefault(e.nonce, []).append(e)
        chain_nonce = int(await rpc.request("eth_getTransactionCount", [self.owner, "latest"]), 16)
        summary: dict[str, Any] = {"settled": 0, "rebroadcast": 0, "conflicts": 0}
        self.pending.clear()
        trade_ids = [e.trade_id for e in entries if e.trade_id is not None]
        pools = await self._db(self.journal.trade_pools, trade_ids) if trade_ids else {}
        for nonce, group in sorted(by_nonce.items()):
            receipts = await rpc.batch([("eth_getTransactionReceipt", [e.tx_hash]) for e in group])
            trade_id = next((e.trade_id for e in group if e.trade_id is not None), None)
            p = PendingNonce(
                nonce,
                trade_id,
                self._pair_of(pools.get(trade_id)) if trade_id is not None else None,
                None,
                [
                    SentTx(e.tx_hash, e.raw_tx, int(e.gas_price), e.kind, e.priority_fee)
                    for e in group
                ],
                self.last_block,
                cancelled=any(e.kind == "cancel" for e in group),
            )
            hit = next(
                ((tx, r) for tx, r in zip(p.txs, receipts, strict=True) if r is not None), None
            )
            if hit is not None:
                await self._settle(p, hit[0], hit[1])
                summary["settled"] += 1
            elif nonce < chain_nonce:
                await self._journal_conflict(p)
                summary["conflicts"] += 1
            else:
                self.pending[nonce] = p
                if p.pair is not None:
                    self.in_flight[p.pair] = nonce  # its pair waits for it, as before the crash
                if self.signer is None:
                    continue  # paper mode now: the next live start will deal with it
                if self.control.control.state is TradingState.STOPPED and not p.cancelled:
                    # A stopped node does not send a trade again: it cancels the nonce.
                    fees = self._bumped_fees(p)
                    signed = self._self_transfer(nonce, fees)
                    await self._send_replacement(nonce, signed, fees, "cancel", p.trade_id, None)
                    summary.setdefault("cancelled", 0)
                    summary["cancelled"] += 1
                else:
                    await self._broadcast(p, p.latest.raw_hex, p.latest.tx_hash)
                    summary["rebroadcast"] += 1
        open_nonces = {n: [tx.tx_hash for tx in p.txs] for n, p in self.pending.items()}
        self.nonces.sync(chain_nonce, open_nonces)
        if not await self.refresh(rpc):
            # No trade is sized on a gas price or a capital of zero: try again on the next
            # connection.
            raise EndpointUnavailable(f"{rpc.name}: gas price and balances not readable")
        # Only a reconciled trader hears of stops (one that failed here is thrown away).
        if self._on_transition not in self.control.control.listeners:
            self.control.control.listeners.append(self._on_transition)
            if self.control.control.state is TradingState.STOPPED and self.pending:
                # Stopped while reconciling (after some were sent again): cancel them now.
                self._spawn(self.cancel_pending("stopped while reconciling"))
        self.ready = True
        log.info(
            "journal reconciled with the chain: %s; next nonce %s", summary, self.nonces.next_nonce
        )
        return summary

    def _pair_of(self, pools: tuple[str, str] | None) -> str | None:
        return None if pools is None else self.strategy.pair_of(pools)

    async def _journal_conflict(self, p: PendingNonce) -> None:
        """The journal's side of a nonce conflict: none of ours was mined, the trade failed."""
        for tx in p.txs:
            await self._db(
                self.journal.settle, tx.tx_hash, "replaced", error_class="nonce_conflict"
            )
        if p.trade_id is not None:
            await self._db(
                self.journal.update_trade,
                p.trade_id,
                status="failed",
                detail=json.dumps({"error": "nonce_conflict"}),
            )

    async def discard(self) -> None:
        """Throw away a trader that never became ready (its reconcile failed): its tasks and
        its journal thread; the broadcaster is the desk's and stays open."""
        for task in list(self._tasks):
            task.cancel()
        self._io.shutdown(wait=False)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.broadcaster is not None:
            await self.broadcaster.close()
        self._io.shutdown(wait=True)
