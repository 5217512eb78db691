"""Initial schema: pools, swaps, candles, checkpoints, blocks, system_config, audit_log.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from shared.db.schema import Uint256

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _updated_at(name: str = "updated_at") -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("address", sa.String(42), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("token0", sa.String(16), nullable=False),
        sa.Column("token1", sa.String(16), nullable=False),
        sa.Column("decimals0", sa.Integer, nullable=False),
        sa.Column("decimals1", sa.Integer, nullable=False),
        sa.Column("base_is_token0", sa.Boolean, nullable=False),
        sa.Column("fee_bps", sa.Integer, nullable=False),
        sa.Column("reserve0", Uint256),
        sa.Column("reserve1", Uint256),
        sa.Column("sqrt_price_x96", Uint256),
        sa.Column("liquidity", Uint256),
        sa.Column("tick", sa.Integer),
        sa.Column("state_block", sa.BigInteger),
        sa.Column("state_log_index", sa.Integer),
        sa.Column("price", sa.Float),
        _updated_at(),
        sa.PrimaryKeyConstraint("chain_id", "address", name="pk_pools"),
    )
    op.create_table(
        "swaps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("pool", sa.String(42), nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("block_time", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("recipient", sa.String(42), nullable=False),
        sa.Column("amount0_in", Uint256, nullable=False),
        sa.Column("amount1_in", Uint256, nullable=False),
        sa.Column("amount0_out", Uint256, nullable=False),
        sa.Column("amount1_out", Uint256, nullable=False),
        sa.Column("price", sa.Float),
        sa.Column("volume_base", sa.Float, nullable=False),
        sa.Column("volume_quote", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_swaps"),
        sa.UniqueConstraint(
            "chain_id", "block_hash", "log_index", name="uq_swaps_chain_id_block_hash_log_index"
        ),
    )
    op.create_index(
        "ix_swaps_chain_id_pool_block_number", "swaps", ["chain_id", "pool", "block_number"]
    )
    op.create_index("ix_swaps_chain_id_block_number", "swaps", ["chain_id", "block_number"])
    op.create_table(
        "candles",
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("pool", sa.String(42), nullable=False),
        sa.Column("interval", sa.String(4), nullable=False),
        sa.Column("open_time", sa.BigInteger, nullable=False),
        sa.Column("open", sa.Float, nullable=False),
        sa.Column("high", sa.Float, nullable=False),
        sa.Column("low", sa.Float, nullable=False),
        sa.Column("close", sa.Float, nullable=False),
        sa.Column("volume_base", sa.Float, nullable=False),
        sa.Column("volume_quote", sa.Float, nullable=False),
        sa.Column("trades", sa.Integer, nullable=False),
        sa.Column("first_block", sa.BigInteger, nullable=False),
        sa.Column("last_block", sa.BigInteger, nullable=False),
        sa.Column("closed", sa.Boolean, nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("chain_id", "pool", "interval", "open_time", name="pk_candles"),
    )
    op.create_index(
        "ix_candles_chain_id_closed_interval_open_time",
        "candles",
        ["chain_id", "closed", "interval", "open_time"],
    )
    op.create_table(
        "checkpoints",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("block_number", sa.BigInteger, nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("block_time", sa.BigInteger, nullable=False),
        _updated_at(),
        sa.PrimaryKeyConstraint("name", name="pk_checkpoints"),
    )
    op.create_table(
        "blocks",
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("number", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(66), nullable=False),
        sa.Column("parent_hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("undo", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "number", name="pk_blocks"),
    )
    op.create_table(
        "system_config",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False, server_default="system"),
        _updated_at(),
        sa.PrimaryKeyConstraint("key", name="pk_system_config"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        _updated_at("at"),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action_at", "audit_log", ["action", "at"])


def downgrade() -> None:
    for table in (
        "audit_log",
        "system_config",
        "blocks",
        "checkpoints",
        "candles",
        "swaps",
        "pools",
    ):
        op.drop_table(table)
