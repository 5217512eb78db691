"""The trader's in-memory records: pending nonces and their transactions, gauges read from the
chain, and counters for the metrics. Plain data, no I/O."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from edge_node.strategy.intents import Intent


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
    # Seen in a block that does not have enough confirmations yet: (the transaction, its receipt)
    mined: tuple[SentTx, dict[str, Any]] | None = None
    # The height at which the chain's count first passed this nonce with no receipt of ours:
    # a conflict is decided only if a later block shows the same (see ``Tracking``).
    suspect: int | None = None
    # Send-log path: the trade's copy into the store, until it has committed (see ``Sending``).
    store_copy: asyncio.Future[tuple[int | None, int]] | None = None

    @property
    def latest(self) -> SentTx:
        return self.txs[-1]


@dataclass
class Settled:
    """A nonce settled recently: kept while a reorg could still take its block away."""

    pending: PendingNonce
    tx: SentTx
    block: int


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
    errors: dict[str, int] = field(default_factory=dict)  # stage -> unexpected exceptions
    signed: int = 0
    cancels: int = 0
    speedups: int = 0
    rebroadcasts: int = 0

    def status(self, mode: str, status: str) -> None:
        self.by_status[(mode, status)] = self.by_status.get((mode, status), 0) + 1

    def failure(self, kind: str) -> None:
        self.failures[kind] = self.failures.get(kind, 0) + 1

    def error(self, stage: str) -> None:
        self.errors[stage] = self.errors.get(stage, 0) + 1
