"""The restore-then-catch-up proof: after a restore of an older backup, the edge node starts from
the restored checkpoint and catches up from the chain, with zero missing or extra swaps against
eth_getLogs and every candle equal to its swaps (anvil, the node's own store on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from edge_node.service import EdgeNode
from functions.backup import catalog
from functions.backup.create import create_backup
from functions.backup.invariants import invariant_problems
from functions.backup.objects import S3Objects
from functions.backup.restore import restore
from shared.db import schema
from tests.functions.backup.conftest import PREFIX
from tests.support.node import (
    Chain,
    assert_candles_match_swaps,
    assert_store_matches_chain,
    caught_up,
    running,
    running_chain,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.postgres]


chain = pytest.fixture(running_chain, name="chain")


async def _trade(node: EdgeNode, chain: Chain, swaps: int, seed: int) -> None:
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=swaps, seed=seed).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        assert traffic.succeeded == swaps
        await caught_up(node, chain.anvil)


def _checkpoint(node: EdgeNode) -> int:
    with node.engine.connect() as conn:
        return int(conn.execute(select(schema.checkpoints.c.block_number)).scalar_one())


async def test_node_catches_up_from_a_restored_older_backup(
    chain: Chain, pg_url: str, bucket: S3Objects
) -> None:
    first = EdgeNode(chain.config(pg_url))
    await _trade(first, chain, 40, seed=1)
    old = await asyncio.to_thread(create_backup, pg_url, bucket, PREFIX)
    old_checkpoint = _checkpoint(first)

    second = EdgeNode(chain.config(pg_url))
    await _trade(second, chain, 40, seed=2)
    assert _checkpoint(second) > old_checkpoint

    # The store is lost (or bad); the older backup comes back, the current one is kept first.
    result = await asyncio.to_thread(
        restore, bucket, PREFIX, old, pg_url, force=True,
        pre_backup=lambda: create_backup(pg_url, bucket, PREFIX, reason="pre-restore").id,
    )  # fmt: skip
    assert result.pre_restore_backup is not None
    assert len(catalog.scan(bucket, PREFIX)) == 2
    # The store is back at the old checkpoint, without the swaps made since.
    assert _checkpoint(second) == old_checkpoint
    with second.engine.connect() as conn:
        rows = conn.execute(select(schema.swaps.c.id)).all()
    assert len(rows) == old.table("swaps").rows  # type: ignore[union-attr]

    # The chain moves on while the node is down, then the node starts on the restored store.
    traffic = chain.traffic(rate=40, max_swaps=30, seed=3).start()
    await asyncio.to_thread(traffic.wait, 60)
    await asyncio.to_thread(traffic.stop)
    third = EdgeNode(chain.config(pg_url))
    async with running(third):
        await caught_up(third, chain.anvil)
    cid = third.cfg.chain.chain_id
    swaps = assert_store_matches_chain(third.engine, chain, cid)
    assert swaps >= 110
    assert_candles_match_swaps(third.engine, cid, third.intervals())
    # The drill's invariant queries agree on the node's real store.
    assert invariant_problems(pg_url) == []
