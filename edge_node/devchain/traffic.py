"""Background swap traffic on a demo market, so the edge node sees a market that moves.

Swaps go through the TrafficRouter from unlocked dev accounts with ``eth_sendTransaction`` (anvil
signs them), at a target rate, without waiting for each receipt; receipts are collected per
block so a slow chain throttles the generator instead of piling up an unbounded backlog.
"""

from __future__ import annotations

import collections
import contextlib
import http.client
import math
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.types import TxReceipt

from edge_node.devchain.market import (
    DeployedMarket,
    DeployedPair,
    Trader,
    contract_at,
    read_reserves,
)
from edge_node.devchain.rpc import JsonRpcClient, RpcError
from edge_node.devchain.v2math import BPS, get_amount_out

_SWAP_SELECTOR = function_signature_to_4byte_selector(
    "swapExactIn(address,address,uint256,uint256,address)"
)
_GET_RESERVES_SELECTOR = function_signature_to_4byte_selector("getReserves()")
# A router swap costs about 90k gas; a fixed limit skips eth_estimateGas on the hot path and lets
# a swap that would revert be sent and counted as failed rather than raise at submission.
_SWAP_GAS = 300_000
_RECEIPT_POLL_S = 0.05
_MAX_BLOCK_SCAN = 64


class TrafficError(RuntimeError):
    """The generator's thread stopped on an error; ``__cause__`` holds it."""


@dataclass(frozen=True)
class SwapSizing:
    """Swap sizes as fractions of the input-side reserve, drawn log-uniformly."""

    min_fraction: float = 1e-4
    max_fraction: float = 2e-2
    large_probability: float = 0.03
    """Share of swaps drawn from the larger band, to produce the occasional price jump."""
    large_max_fraction: float = 8e-2

    def __post_init__(self) -> None:
        if not 0 < self.min_fraction <= self.max_fraction <= self.large_max_fraction < 1:
            raise ValueError("need 0 < min_fraction <= max_fraction <= large_max_fraction < 1")
        if not 0 <= self.large_probability <= 1:
            raise ValueError("large_probability must be a probability")

    def draw(self, rng: random.Random) -> float:
        low, high = self.min_fraction, self.max_fraction
        if self.large_probability and rng.random() < self.large_probability:
            low, high = self.max_fraction, self.large_max_fraction
        return math.exp(rng.uniform(math.log(low), math.log(high)))


@dataclass
class _Pending:
    sent_at: float
    description: str


class TrafficGenerator:
    """Random router swaps at ``rate`` per second from ``traders`` (see ``prepare_traders``).

    ``seed`` makes the sequence of pairs, directions, traders and sizes reproducible (amounts
    also depend on reserves, which are deterministic under automine). ``max_pending`` bounds the
    unmined backlog; ``max_swaps`` ends the run after that many attempts (``wait`` for it), and
    ``max_consecutive_errors`` submission failures in a row end it with an error (e.g. the node
    died). Counters are updated by the worker thread and may be read at any time.
    """

    def __init__(
        self,
        rpc_url: str,
        market: DeployedMarket,
        traders: Sequence[Trader],
        *,
        rate: float = 10.0,
        seed: int | None = None,
        sizing: SwapSizing | None = None,
        slippage_bps: int = 200,
        max_pending: int = 200,
        receipt_timeout: float = 60.0,
        max_consecutive_errors: int = 20,
        pairs: Sequence[DeployedPair] | None = None,
        max_swaps: int | None = None,
    ) -> None:
        if not traders:
            raise ValueError("the traffic generator needs at least one prepared trader")
        if not rate > 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if not 0 <= slippage_bps < BPS:
            raise ValueError(f"slippage_bps must be in [0, {BPS})")
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.rpc_url = rpc_url
        self.market = market
        self.traders = list(traders)
        self.pairs = list(pairs if pairs is not None else market.pairs)
        if not self.pairs:
            raise ValueError("no pairs to trade")
        self.rate = rate
        self.sizing = sizing or SwapSizing()
        self.slippage_bps = slippage_bps
        self.max_pending = max_pending
        self.receipt_timeout = receipt_timeout
        self.max_consecutive_errors = max_consecutive_errors
        self.max_swaps = max_swaps
        self._rng = random.Random(seed)
        self._client = JsonRpcClient(rpc_url, timeout=10.0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: dict[str, _Pending] = {}
        self._last_block: int | None = None
        self._last_poll = 0.0
        self._consecutive_errors = 0
        self._send_failures = 0
        self.error: BaseException | None = None
        self.sent = 0
        """Swaps the node accepted."""
        self.succeeded = 0
        """Swaps mined with status 1."""
        self.failed = 0
        """Swaps rejected at submission, reverted on chain, or never mined."""
        self.last_errors: collections.deque[str] = collections.deque(maxlen=20)

    # ----- lifecycle -----

    def start(self) -> TrafficGenerator:
        if self._thread is not None:
            raise RuntimeError("the traffic generator was already started")
        self._last_block = int(self._client.call("eth_blockNumber"), 16)
        self._thread = threading.Thread(target=self._run, name="swap-traffic", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for the worker to finish on its own (``max_swaps`` reached, or an error);
        returns whether it did. Receipts are only settled by ``stop``."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Stops sending, waits up to ``drain_timeout`` for outstanding receipts, and raises
        TrafficError if the thread died on an error."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.error is None:
            try:
                self._drain(drain_timeout)
            except Exception as exc:
                self.error = exc
        self._client.close()
        self.check()

    def check(self) -> None:
        """Raises TrafficError if the generator has died; cheap enough to poll."""
        if self.error is not None:
            raise TrafficError(
                f"swap traffic stopped after {self.sent} swaps: {self.error!r}; "
                f"recent errors: {list(self.last_errors)}"
            ) from self.error

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def __enter__(self) -> TrafficGenerator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.stop()
            return
        # Do not mask the caller's exception with one from the generator.
        with contextlib.suppress(TrafficError):
            self.stop()

    # ----- the worker -----

    def _run(self) -> None:
        try:
            interval = 1.0 / self.rate
            next_at = time.monotonic()
            while not self._stop.is_set():
                if self.max_swaps is not None and self.sent + self._send_failures >= self.max_swaps:
                    return
                self._collect_receipts()
                if len(self._pending) >= self.max_pending:
                    self._stop.wait(_RECEIPT_POLL_S)
                    continue
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                self._send_one()
                next_at += interval
                # After a stall (slow node, full backlog) resume the rate instead of bursting.
                next_at = max(next_at, time.monotonic() - interval)
        except BaseException as exc:
            self.error = exc

    def _send_one(self) -> None:
        pair = self._rng.choice(self.pairs)
        zero_for_one = self._rng.random() < 0.5
        trader = self._rng.choice(self.traders)
        fraction = self.sizing.draw(self._rng)
        description = f"{pair.name} {'0->1' if zero_for_one else '1->0'} by {trader.address}"
        try:
            r0, r1 = self._reserves(pair)
            reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
            amount_in = max(1, int(reserve_in * fraction))
            expected = get_amount_out(amount_in, reserve_in, reserve_out, pair.fee_bps)
            if expected == 0:
                return  # a dust input on a tiny pool: the pair would reject a zero output
            min_out = expected * (BPS - self.slippage_bps) // BPS
            token_in = pair.token0 if zero_for_one else pair.token1
            data = _SWAP_SELECTOR + encode(
                ["address", "address", "uint256", "uint256", "address"],
                [pair.address, token_in, amount_in, min_out, trader.address],
            )
            tx_hash = self._client.call(
                "eth_sendTransaction",
                [
                    {
                        "from": trader.address,
                        "to": self.market.router,
                        "data": "0x" + data.hex(),
                        "gas": hex(_SWAP_GAS),
                    }
                ],
            )
        except (RpcError, ValueError, OSError, http.client.HTTPException) as exc:
            self._record_failure(f"{description}: {exc}")
            self._send_failures += 1
            self._consecutive_errors += 1
            if self._consecutive_errors >= self.max_consecutive_errors:
                raise TrafficError(
                    f"{self._consecutive_errors} swaps in a row could not be sent"
                ) from exc
            return
        self._consecutive_errors = 0
        self.sent += 1
        self._pending[str(tx_hash).lower()] = _Pending(time.monotonic(), description)

    def _reserves(self, pair: DeployedPair) -> tuple[int, int]:
        # anvil executes the transaction pool for "pending", so quotes include our own unmined
        # swaps; with "latest", interval mining made ~10% of swaps miss their minimum output.
        raw = self._client.call(
            "eth_call",
            [{"to": pair.address, "data": "0x" + _GET_RESERVES_SELECTOR.hex()}, "pending"],
        )
        r0, r1, _ = decode(["uint112", "uint112", "uint32"], bytes.fromhex(raw[2:]))
        return int(r0), int(r1)

    def _record_failure(self, message: str) -> None:
        self.failed += 1
        self.last_errors.append(message)

    def _collect_receipts(self, force: bool = False) -> None:
        """Settles pending swaps from the receipts of blocks mined since the last look: one call
        per block however many swaps it holds."""
        now = time.monotonic()
        if not self._pending or (not force and now - self._last_poll < _RECEIPT_POLL_S):
            return
        self._last_poll = now
        head = int(self._client.call("eth_blockNumber"), 16)
        first = self._last_block + 1 if self._last_block is not None else head
        # A reorg can move the head backwards; rescan from there.
        first = min(first, head)
        if head - first < _MAX_BLOCK_SCAN:
            for number in range(first, head + 1):
                for receipt in self._client.call("eth_getBlockReceipts", [hex(number)]) or []:
                    self._settle(receipt)
        else:
            # Many blocks went by (e.g. other activity while we sent nothing): ask per swap.
            for tx_hash in list(self._pending):
                receipt = self._client.call("eth_getTransactionReceipt", [tx_hash])
                if receipt is not None:
                    self._settle(receipt)
        self._last_block = head
        for tx_hash, entry in list(self._pending.items()):
            if now - entry.sent_at > self.receipt_timeout:
                del self._pending[tx_hash]
                self._record_failure(
                    f"{entry.description}: not mined after {self.receipt_timeout}s"
                )

    def _settle(self, receipt: dict[str, Any]) -> None:
        entry = self._pending.pop(str(receipt["transactionHash"]).lower(), None)
        if entry is None:
            return
        if int(receipt["status"], 16) == 1:
            self.succeeded += 1
        else:
            block = int(receipt["blockNumber"], 16)
            self._record_failure(f"{entry.description}: reverted in block {block}")

    def _drain(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            self._collect_receipts(force=True)
            if self._pending:
                time.sleep(_RECEIPT_POLL_S)
        for tx_hash, entry in list(self._pending.items()):
            del self._pending[tx_hash]
            self._record_failure(f"{entry.description}: still pending when traffic stopped")


def do_swap(
    w3: Web3,
    market: DeployedMarket,
    pair: DeployedPair,
    trader: str,
    token_in: str,
    amount_in: int,
    *,
    min_amount_out: int | None = None,
    to: str | None = None,
) -> TxReceipt:
    """One router swap, mined, for tests. ``token_in`` is a symbol or an address; by default
    ``min_amount_out`` is the exact quote, so the swap fails if anything moved the pool. A swap
    that would revert raises web3's ContractLogicError (from gas estimation) and is not sent."""
    address = market.tokens[token_in].address if token_in in market.tokens else token_in
    address = Web3.to_checksum_address(address)
    if address not in (pair.token0, pair.token1):
        raise ValueError(f"{token_in} is not traded by {pair.name}")
    if min_amount_out is None:
        r0, r1 = read_reserves(w3, pair.address)
        reserve_in, reserve_out = (r0, r1) if address == pair.token0 else (r1, r0)
        min_amount_out = get_amount_out(amount_in, reserve_in, reserve_out, pair.fee_bps)
    sender = Web3.to_checksum_address(trader)
    recipient = Web3.to_checksum_address(to) if to is not None else sender
    router = contract_at(w3, "TrafficRouter", market.router)
    tx_hash = router.functions.swapExactIn(
        pair.address, address, amount_in, min_amount_out, recipient
    ).transact({"from": sender})
    receipt: TxReceipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.02)
    return receipt
