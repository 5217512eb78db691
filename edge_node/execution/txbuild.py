"""What the trader puts into transactions and reads out of receipts. Pure: no I/O.

The executor's calldata (a per-pool-pair prefix, cached, plus the two amounts), the fees of a
first transaction and of a replacement, the cancelling self-transfer (built here and nowhere
else), the profit an ``Arbitrage`` log reports, and the ``balanceOf`` call for the capital.
"""

from __future__ import annotations

from typing import Any

from edge_node.chain.keccak import event_topic
from edge_node.execution.signed_tx import SignedTx
from edge_node.execution.signing import TxSigner, sign_self_transfer
from edge_node.strategy.intents import Intent

# ArbExecutor.execute(address,uint16,address,uint16,address,uint256,uint256)
EXECUTE_SELECTOR = bytes.fromhex(
    event_topic("execute(address,uint16,address,uint16,address,uint256,uint256)")[2:10]
)
ARBITRAGE_TOPIC = event_topic("Arbitrage(address,address,address,uint256,uint256)")
BALANCE_OF = bytes.fromhex(event_topic("balanceOf(address)")[2:10])

# (gas price, or the max fee per gas of an EIP-1559 transaction; its priority fee, None if legacy)
Fees = tuple[int, int | None]


def word(v: int) -> bytes:
    return v.to_bytes(32, "big")


def address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address[2:])


class Calldata:
    """``execute(...)`` calldata; the part fixed by the pool pair is encoded once per pair."""

    def __init__(self) -> None:
        self._prefix: dict[tuple[str, str], bytes] = {}

    def __call__(self, intent: Intent) -> bytes:
        key = (intent.pool_buy, intent.pool_sell)
        prefix = self._prefix.get(key)
        if prefix is None:
            prefix = self._prefix[key] = b"".join(
                (
                    EXECUTE_SELECTOR,
                    address_word(intent.pool_buy),
                    word(intent.fee_buy_bps),
                    address_word(intent.pool_sell),
                    word(intent.fee_sell_bps),
                    address_word(intent.token_in),
                )
            )
        return prefix + word(intent.amount_in) + word(intent.min_profit)


def first_fees(tx_type: str, price: int, priority_fee: int) -> Fees:
    """(gas price or max fee, priority fee or None for legacy) of a first transaction."""
    if tx_type == "legacy":
        return price, None
    return price, min(priority_fee, price)


def bumped_fees(
    tx_type: str,
    latest_price: int,
    latest_tip: int | None,
    *,
    bump: float,
    gas_price: int,
    priority_fee: int,
) -> Fees:
    """Fees of a replacement of a transaction signed at (``latest_price``, ``latest_tip``),
    never below today's ``gas_price``. Nodes replace only when every fee rises by their bump
    (geth: both the max fee and the tip, for EIP-1559)."""
    price = max(int(latest_price * bump) + 1, gas_price)
    if tx_type == "legacy":
        return price, None
    previous = latest_tip if latest_tip is not None else priority_fee
    tip = max(int(previous * bump) + 1, priority_fee)
    return max(price, tip), tip


def self_transfer(signer: TxSigner, nonce: int, fees: Fees) -> SignedTx:
    """The cancelling transaction: a zero-value transfer to oneself that uses up ``nonce``."""
    price, tip = fees
    if tip is None:
        return sign_self_transfer(signer, nonce, gas_price=price)
    return sign_self_transfer(signer, nonce, max_fee=price, max_priority_fee=tip)


def profit_from(receipt: dict[str, Any], executor: str) -> int:
    """The profit the executor's ``Arbitrage(..., amountIn, profit)`` log reports, else 0."""
    for entry in receipt.get("logs") or []:
        topics = entry.get("topics") or []
        if topics and topics[0] == ARBITRAGE_TOPIC and entry.get("address", "").lower() == executor:
            data = entry.get("data", "0x")
            return int(data[66:130], 16)
    return 0


def balance_call(token: str, holder: str) -> dict[str, str]:
    return {"to": token, "data": "0x" + (BALANCE_OF + address_word(holder)).hex()}
