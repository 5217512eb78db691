"""What the node reads from its store before it connects: the chain it was built from, and
where to resume."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from edge_node.market.book import MarketBook
from edge_node.store import reader
from edge_node.store.sql import upsert
from edge_node.store.writer import StoreWriter
from shared.config import NodeConfig
from shared.db import schema
from shared.db.engine import ensure_schema

log = logging.getLogger(__name__)


def checkpoint_name(chain_id: int) -> str:
    return f"listener:{chain_id}"


def stored_genesis(engine: Engine, chain_id: int, seen: str) -> str:
    """The genesis hash this store was built from; ``seen`` is recorded if there is none yet."""
    key = f"chain.{chain_id}.genesis_hash"
    with engine.begin() as conn:
        row = conn.execute(
            select(schema.system_config.c.value).where(schema.system_config.c.key == key)
        ).first()
        if row is not None:
            return str(row.value)
        upsert(
            conn,
            schema.system_config,
            [{"key": key, "value": seen, "updated_by": "edge-node"}],
            ("key",),
        )
    return seen


def restore(
    engine: Engine,
    cfg: NodeConfig,
    book: MarketBook,
    writer: StoreWriter,
    interval_specs: list[tuple[str, int]],
) -> None:
    """Bring the schema up to date and the book back to the last committed block, if any."""
    ensure_schema(engine, cfg.store.auto_migrate)
    state = reader.load_resume_state(
        engine, cfg.chain.chain_id, checkpoint_name(cfg.chain.chain_id), interval_specs
    )
    if state.head is not None:
        book.restore(state.head, state.pools, state.recent)
        writer.stats.committed_block = state.head.number
        writer.stats.committed_hash = state.head.hash
        log.info(
            "resuming after block %d (%s), %d blocks of undo history",
            state.head.number,
            state.head.hash[:10],
            len(state.recent),
        )
    else:
        log.info(
            "no checkpoint in the store: starting from %s",
            cfg.chain.start_block
            if cfg.chain.start_block is not None
            else f"{cfg.chain.reorg_window} blocks below the current head",
        )
