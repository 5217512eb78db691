"""The database schema, one place for SQLite (embedded default) and PostgreSQL (production).

Migrations in ``shared/db/migrations`` create exactly these tables; a test compares the two so
that neither drifts. Amounts on chain are 256-bit integers: they are stored exactly (NUMERIC(78)
in PostgreSQL, decimal text in SQLite), never as floats. Prices and volumes derived from them
are floats, since they are for display and candles, not accounting.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


class Uint256(TypeDecorator[int]):
    """An exact unsigned 256-bit integer (also used for signed values within 256 bits)."""

    impl = String(80)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric(78, 0))
        return dialect.type_descriptor(String(80))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return value if dialect.name == "postgresql" else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)


# SQLite only auto-increments an INTEGER PRIMARY KEY.
_ID = BigInteger().with_variant(Integer, "sqlite")


def _ts(name: str) -> Column[Any]:
    return Column(name, DateTime(timezone=True), nullable=False, server_default=func.now())


pools = Table(
    "pools",
    metadata,
    Column("chain_id", BigInteger, nullable=False),
    Column("address", String(42), nullable=False),
    Column("name", String(64), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("token0", String(16), nullable=False),
    Column("token1", String(16), nullable=False),
    Column("decimals0", Integer, nullable=False),
    Column("decimals1", Integer, nullable=False),
    Column("base_is_token0", Boolean, nullable=False),
    Column("fee_bps", Integer, nullable=False),
    # State as of the checkpoint (written in the same transaction as the checkpoint).
    Column("reserve0", Uint256),
    Column("reserve1", Uint256),
    Column("sqrt_price_x96", Uint256),
    Column("liquidity", Uint256),
    Column("tick", Integer),
    Column("state_block", BigInteger),
    Column("state_log_index", Integer),
    Column("price", Float),
    _ts("updated_at"),
    PrimaryKeyConstraint("chain_id", "address"),
)

swaps = Table(
    "swaps",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("pool", String(42), nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("block_time", BigInteger, nullable=False),
    Column("sender", String(42), nullable=False),
    Column("recipient", String(42), nullable=False),
    Column("amount0_in", Uint256, nullable=False),
    Column("amount1_in", Uint256, nullable=False),
    Column("amount0_out", Uint256, nullable=False),
    Column("amount1_out", Uint256, nullable=False),
    Column("price", Float),
    Column("volume_base", Float, nullable=False),
    Column("volume_quote", Float, nullable=False),
    UniqueConstraint("chain_id", "block_hash", "log_index"),
    Index(None, "chain_id", "pool", "block_number"),
    Index(None, "chain_id", "block_number"),
)

candles = Table(
    "candles",
    metadata,
    Column("chain_id", BigInteger, nullable=False),
    Column("pool", String(42), nullable=False),
    Column("interval", String(4), nullable=False),
    Column("open_time", BigInteger, nullable=False),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume_base", Float, nullable=False),
    Column("volume_quote", Float, nullable=False),
    Column("trades", Integer, nullable=False),
    Column("first_block", BigInteger, nullable=False),
    Column("last_block", BigInteger, nullable=False),
    Column("closed", Boolean, nullable=False),
    _ts("updated_at"),
    PrimaryKeyConstraint("chain_id", "pool", "interval", "open_time"),
    # Closing candles by time touches only the few still open.
    Index(None, "chain_id", "closed", "interval", "open_time"),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("block_hash", String(66), nullable=False),
    Column("block_time", BigInteger, nullable=False),
    _ts("updated_at"),
)

# The last reorg-window blocks processed, each with the undo record that rolls it back, so a
# reorg that happens while the node is down is rolled back on restart exactly like a live one.
blocks = Table(
    "blocks",
    metadata,
    Column("chain_id", BigInteger, nullable=False),
    Column("number", BigInteger, nullable=False),
    Column("hash", String(66), nullable=False),
    Column("parent_hash", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("undo", Text, nullable=False),
    PrimaryKeyConstraint("chain_id", "number"),
)

system_config = Table(
    "system_config",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_by", String(128), nullable=False, server_default="system"),
    _ts("updated_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    _ts("at"),
    Column("actor", String(128), nullable=False),
    Column("action", String(64), nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index(None, "at"),
    Index(None, "action", "at"),
)

# Trades: every intended trade, paper or live, with what became of it. Amounts are raw token
# units of the capital token; profits can be negative (NUMERIC and text both hold signs).
trades = Table(
    "trades",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    _ts("created_at"),
    _ts("updated_at"),
    Column("mode", String(8), nullable=False),  # paper | live
    Column("strategy", String(32), nullable=False),
    Column("pool_buy", String(42), nullable=False),
    Column("pool_sell", String(42), nullable=False),
    Column("token_in", String(42), nullable=False),
    Column("amount_in", Uint256, nullable=False),
    Column("expected_profit", Uint256, nullable=False),
    Column("min_profit", Uint256, nullable=False),
    Column("gas_limit", BigInteger, nullable=False),
    Column("gas_price", Uint256, nullable=False),
    # intended | refused | simulated | simulation_failed | submitted | mined | reverted |
    # failed | cancelled
    Column("status", String(20), nullable=False),
    Column("tx_hash", String(66)),
    Column("nonce", BigInteger),
    Column("block_number", BigInteger),
    Column("profit", Uint256),
    Column("gas_used", BigInteger),
    Column("gas_cost", Uint256),
    Column("trigger_block", BigInteger, nullable=False),
    Column("trigger_log_index", Integer, nullable=False),
    Column("detail", Text, nullable=False, server_default="{}"),
    Index(None, "chain_id", "created_at"),
    Index(None, "chain_id", "status"),
)

# The transaction journal: every signed transaction, written durably BEFORE it is broadcast,
# so that after any crash the node knows every nonce it may have used and the exact bytes.
tx_journal = Table(
    "tx_journal",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("sender", String(42), nullable=False),
    Column("nonce", BigInteger, nullable=False),
    Column("tx_hash", String(66), nullable=False),
    Column("raw_tx", Text, nullable=False),
    Column("kind", String(12), nullable=False),  # trade | speedup | cancel
    Column("trade_id", BigInteger),
    Column("gas_price", Uint256, nullable=False),  # legacy gas price, or EIP-1559 max fee
    Column("priority_fee", Uint256),
    # signed | broadcast | mined | reverted | replaced | dropped | failed
    Column("status", String(12), nullable=False),
    Column("error_class", String(32)),
    Column("broadcasts", Integer, nullable=False, server_default="0"),
    _ts("created_at"),
    Column("broadcast_at", DateTime(timezone=True)),
    Column("settled_at", DateTime(timezone=True)),
    Column("block_number", BigInteger),
    Column("gas_used", BigInteger),
    Column("effective_gas_price", Uint256),
    UniqueConstraint("chain_id", "tx_hash"),
    Index(None, "chain_id", "sender", "nonce"),
    Index(None, "chain_id", "status"),
)
