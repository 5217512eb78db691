"""Conversions between the market book's values and database rows. No I/O here."""

from __future__ import annotations

import json
from typing import Any

from edge_node.chain.events import BlockHeader, SwapV3Event
from edge_node.market.book_records import AppliedBlock, PoolSnapshot, SwapRecord, UndoEntry
from edge_node.market.candles import Candle
from edge_node.market.pools import PoolInfo, PoolState


def well_formed_hex(value: str, size: int) -> bool:
    """A 0x-prefixed hex string of exactly ``size`` bytes."""
    if len(value) != 2 + 2 * size or value[:2] != "0x":
        return False
    try:
        bytes.fromhex(value[2:])
    except ValueError:
        return False
    return True


def malformed_identifiers(record: SwapRecord) -> list[str]:
    """Names of the stored identifiers of a swap that are not well-formed hex (the hot-path
    decoder checks their length only; see edge_node.chain.decode)."""
    ev = record[0]
    bad = []
    if not well_formed_hex(ev.tx_hash, 32):
        bad.append("tx_hash")
    if not well_formed_hex(ev.sender_topic, 32):
        bad.append("sender")
    if not well_formed_hex(ev.recipient_topic, 32):
        bad.append("recipient")
    return bad


def swap_row(chain_id: int, record: SwapRecord, block_time: int) -> dict[str, Any]:
    ev, price, volume_base, volume_quote = record
    if isinstance(ev, SwapV3Event):
        # V3 amounts are signed from the pool's side: positive in, negative out.
        a0, a1 = ev.amount0, ev.amount1
        amounts = (max(a0, 0), max(a1, 0), max(-a0, 0), max(-a1, 0))
    else:
        amounts = (ev.amount0_in, ev.amount1_in, ev.amount0_out, ev.amount1_out)
    return {
        "chain_id": chain_id,
        "pool": ev.pool,
        "block_number": ev.block_number,
        "block_hash": ev.block_hash,
        "log_index": ev.log_index,
        "tx_hash": ev.tx_hash.lower(),
        "block_time": block_time,
        "sender": ev.sender,
        "recipient": ev.recipient,
        "amount0_in": amounts[0],
        "amount1_in": amounts[1],
        "amount0_out": amounts[2],
        "amount1_out": amounts[3],
        "price": price,
        "volume_base": volume_base,
        "volume_quote": volume_quote,
    }


def pool_info_row(chain_id: int, p: PoolInfo) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "address": p.address,
        "name": p.name,
        "kind": p.kind,
        "token0": p.token0,
        "token1": p.token1,
        "decimals0": p.decimals0,
        "decimals1": p.decimals1,
        "base_is_token0": p.base_is_token0,
        "fee_bps": p.fee_bps,
    }


def pool_state_values(s: PoolState) -> dict[str, Any]:
    return {
        "reserve0": s.reserve0,
        "reserve1": s.reserve1,
        "sqrt_price_x96": s.sqrt_price_x96,
        "liquidity": s.liquidity,
        "tick": s.tick,
        "state_block": s.block,
        "state_log_index": s.log_index,
        "price": s.price,
    }


def pool_state_from_row(row: Any) -> PoolState:
    return PoolState(
        reserve0=row.reserve0 or 0,
        reserve1=row.reserve1 or 0,
        sqrt_price_x96=row.sqrt_price_x96 or 0,
        liquidity=row.liquidity or 0,
        tick=row.tick or 0,
        block=-1 if row.state_block is None else row.state_block,
        log_index=-1 if row.state_log_index is None else row.state_log_index,
        price=row.price,
    )


def candle_row(
    chain_id: int, pool: str, interval: str, c: Candle, chain_time: int
) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "pool": pool,
        "interval": interval,
        "open_time": c.open_time,
        "open": c.open,
        "high": c.high,
        "low": c.low,
        "close": c.close,
        "volume_base": c.volume_base,
        "volume_quote": c.volume_quote,
        "trades": c.trades,
        "first_block": c.first_block,
        "last_block": c.last_block,
        "closed": c.closed_at(chain_time),
    }


def candle_from_row(row: Any, seconds: int) -> Candle:
    return Candle(
        row.open_time,
        seconds,
        row.open,
        row.high,
        row.low,
        row.close,
        row.volume_base,
        row.volume_quote,
        row.trades,
        row.first_block,
        row.last_block,
    )


# Undo records are JSON: reserves and prices exceed 64 bits, which stdlib json handles exactly.
def encode_undo(undo: dict[str, UndoEntry]) -> str:
    return json.dumps(
        {
            address: [state.to_list(), [c.to_list() if c else None for c in candles]]
            for address, (state, candles) in undo.items()
        },
        separators=(",", ":"),
    )


def decode_undo(text: str) -> dict[str, UndoEntry]:
    raw = json.loads(text)
    return {
        address: (
            PoolState.from_list(state),
            [Candle.from_list(c) if c is not None else None for c in candles],
        )
        for address, (state, candles) in raw.items()
    }


def applied_block_from_row(row: Any) -> AppliedBlock:
    header = BlockHeader(row.number, row.hash, row.parent_hash, row.timestamp)
    return AppliedBlock(header, decode_undo(row.undo))


def snapshot_from_rows(
    state_row: Any, candle_rows: dict[int, Any], intervals: list[tuple[str, int]]
) -> PoolSnapshot:
    candles: list[Candle | None] = []
    for i, (_, seconds) in enumerate(intervals):
        row = candle_rows.get(i)
        candles.append(candle_from_row(row, seconds) if row is not None else None)
    return PoolSnapshot(pool_state_from_row(state_row), candles)
