"""Trades and the transaction journal.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

import sqlalchemy as sa
from alembic import op

from shared.db.schema import Uint256

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "trades",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("strategy", sa.String(32), nullable=False),
        sa.Column("pool_buy", sa.String(42), nullable=False),
        sa.Column("pool_sell", sa.String(42), nullable=False),
        sa.Column("token_in", sa.String(42), nullable=False),
        sa.Column("amount_in", Uint256, nullable=False),
        sa.Column("expected_profit", Uint256, nullable=False),
        sa.Column("min_profit", Uint256, nullable=False),
        sa.Column("gas_limit", sa.BigInteger, nullable=False),
        sa.Column("gas_price", Uint256, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("tx_hash", sa.String(66)),
        sa.Column("nonce", sa.BigInteger),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("profit", Uint256),
        sa.Column("gas_used", sa.BigInteger),
        sa.Column("gas_cost", Uint256),
        sa.Column("trigger_block", sa.BigInteger, nullable=False),
        sa.Column("trigger_log_index", sa.Integer, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default="{}"),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
    )
    op.create_index("ix_trades_chain_id_created_at", "trades", ["chain_id", "created_at"])
    op.create_index("ix_trades_chain_id_status", "trades", ["chain_id", "status"])
    op.create_table(
        "tx_journal",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.BigInteger, nullable=False),
        sa.Column("sender", sa.String(42), nullable=False),
        sa.Column("nonce", sa.BigInteger, nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("raw_tx", sa.Text, nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("trade_id", sa.BigInteger),
        sa.Column("gas_price", Uint256, nullable=False),
        sa.Column("priority_fee", Uint256),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("error_class", sa.String(32)),
        sa.Column("broadcasts", sa.Integer, nullable=False, server_default="0"),
        _now("created_at"),
        sa.Column("broadcast_at", sa.DateTime(timezone=True)),
        sa.Column("settled_at", sa.DateTime(timezone=True)),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("gas_used", sa.BigInteger),
        sa.Column("effective_gas_price", Uint256),
        sa.PrimaryKeyConstraint("id", name="pk_tx_journal"),
        sa.UniqueConstraint("chain_id", "tx_hash", name="uq_tx_journal_chain_id_tx_hash"),
    )
    op.create_index(
        "ix_tx_journal_chain_id_sender_nonce", "tx_journal", ["chain_id", "sender", "nonce"]
    )
    op.create_index("ix_tx_journal_chain_id_status", "tx_journal", ["chain_id", "status"])
    # The flag rows exist from here on, so `UPDATE system_config SET value='true' WHERE
    # key='emergency_stop'` (as the operations manuals say) stops the bot.
    op.execute(
        "INSERT INTO system_config (key, value, updated_by) VALUES "
        "('emergency_stop', 'false', 'migration'), ('trading_paused', 'false', 'migration')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM system_config WHERE key IN ('emergency_stop', 'trading_paused')")
    op.drop_table("tx_journal")
    op.drop_table("trades")
