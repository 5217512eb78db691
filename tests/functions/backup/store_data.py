"""A store filled with generated but realistic data: pools, swaps, candles built from those swaps,
the reorg window's blocks, a checkpoint, trades and their journal. Used by the backup tests and
the backup benchmark (PostgreSQL rows go in through COPY so a million swaps load in seconds)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from shared.db import schema
from shared.db.engine import create_engine, migrate

CHAIN = 56
POOLS = ("0x" + "a1" * 20, "0x" + "b2" * 20)
T0 = 1_700_000_000
INTERVALS = {"1m": 60, "5m": 300, "1h": 3600}
SWAP_COLUMNS = [
    "chain_id",
    "pool",
    "block_number",
    "block_hash",
    "log_index",
    "tx_hash",
    "block_time",
    "sender",
    "recipient",
    "amount0_in",
    "amount1_in",
    "amount0_out",
    "amount1_out",
    "price",
    "volume_base",
    "volume_quote",
]


def _hex(rng: random.Random, nbytes: int) -> str:
    return "0x" + f"{rng.getrandbits(nbytes * 8):0{nbytes * 2}x}"


def swaps(n: int, seed: int = 1) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    prices = [300.0, 1.0]
    for i in range(n):
        block = 1_000_000 + i // 4
        p = i % 2
        prices[p] *= 1 + rng.uniform(-0.002, 0.002)
        # The first swaps of a pool come before it has reserves: no price (as the node stores them).
        price = None if i < 4 else prices[p]
        amount_in = rng.getrandbits(64)
        vb = amount_in / 1e18
        yield (
            CHAIN,
            POOLS[p],
            block,
            f"0x{block:064x}",
            i % 4,
            _hex(rng, 32),
            T0 + 3 * (i // 4),
            _hex(rng, 20),
            _hex(rng, 20),
            amount_in,
            0,
            0,
            rng.getrandbits(80),
            price,
            vb,
            vb * prices[p],
        )


def candles(rows: list[tuple[Any, ...]] | Iterator[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The node's candles for these swaps (rows in chain order): OHLCV per pool and interval."""
    out: dict[tuple[str, str, int], dict[str, Any]] = {}
    last_time = 0
    for r in rows:
        pool, block, t, price, vb, vq = r[1], r[2], r[6], r[13], r[14], r[15]
        last_time = t
        if price is None:
            continue
        for name, sec in INTERVALS.items():
            k = (pool, name, t - t % sec)
            c = out.get(k)
            if c is None:
                out[k] = {
                    "chain_id": CHAIN,
                    "pool": pool,
                    "interval": name,
                    "open_time": k[2],
                    "open": price,
                    "high": price,
                    "low": price,
                    "close": price,
                    "volume_base": vb,
                    "volume_quote": vq,
                    "trades": 1,
                    "first_block": block,
                    "last_block": block,
                    "sec": sec,
                }
            else:
                c["high"] = max(c["high"], price)
                c["low"] = min(c["low"], price)
                c["close"] = price
                c["volume_base"] += vb
                c["volume_quote"] += vq
                c["trades"] += 1
                c["last_block"] = block
    for c in out.values():
        c["closed"] = c["open_time"] + c.pop("sec") <= last_time
    return list(out.values())


def _others(n_swaps: int, seed: int) -> dict[str, list[dict[str, Any]]]:
    rng = random.Random(seed + 1)
    last_block = 1_000_000 + (n_swaps - 1) // 4
    first = max(1_000_000, last_block - 63)
    blocks = [
        {
            "chain_id": CHAIN,
            "number": b,
            "hash": f"0x{b:064x}",
            "parent_hash": f"0x{b - 1:064x}",
            "timestamp": T0 + 3 * (b - 1_000_000),
            "undo": "{}",
        }
        for b in range(first, last_block + 1)
    ]
    trades, journal = [], []
    start = datetime(2023, 11, 14, tzinfo=UTC)
    statuses = ["mined", "mined", "reverted", "failed", "cancelled", "refused", "simulated"]
    for i in range(max(1, n_swaps // 200)):
        status = statuses[i % len(statuses)]
        sent = status in ("mined", "reverted", "cancelled")
        tx = _hex(rng, 32) if sent else None
        trades.append(
            {
                "id": i + 1,
                "chain_id": CHAIN,
                "created_at": start + timedelta(seconds=30 * i),
                "updated_at": start + timedelta(seconds=30 * i + 9),
                "mode": "live" if i % 3 else "paper",
                "strategy": "arb",
                "pool_buy": POOLS[0],
                "pool_sell": POOLS[1],
                "token_in": "0x" + "cc" * 20,
                "amount_in": 10**18,
                "expected_profit": 10**15,
                "min_profit": 10**14,
                "gas_limit": 300_000,
                "gas_price": 3 * 10**9,
                "status": status,
                "tx_hash": tx,
                "nonce": i if sent else None,
                "block_number": 1_000_000 + i if sent else None,
                "profit": rng.randint(-(10**15), 10**16) if status == "mined" else None,
                "gas_used": 180_000 if sent else None,
                "gas_cost": 540 * 10**12 if sent else None,
                "trigger_block": 1_000_000 + i,
                "trigger_log_index": 0,
                "detail": '{"note": "tab\\there"}',
            }
        )
        if sent:
            journal.append(
                {
                    "chain_id": CHAIN,
                    "sender": "0x" + "dd" * 20,
                    "nonce": i,
                    "tx_hash": tx,
                    "raw_tx": "0x" + "ef" * 120,
                    "kind": "trade",
                    "trade_id": i + 1,
                    "gas_price": 3 * 10**9,
                    "status": status if status != "cancelled" else "replaced",
                    "broadcasts": 1,
                    "created_at": start + timedelta(seconds=30 * i),
                    "block_number": 1_000_000 + i,
                    "gas_used": 180_000,
                    "effective_gas_price": 3 * 10**9,
                }
            )
    return {
        "pools": [
            {
                "chain_id": CHAIN,
                "address": a,
                "name": f"P{k}",
                "kind": "v2",
                "token0": "WBNB",
                "token1": "USDT",
                "decimals0": 18,
                "decimals1": 18,
                "base_is_token0": True,
                "fee_bps": 25,
                "reserve0": 10**24,
                "reserve1": 3 * 10**26,
                "state_block": last_block,
                "price": 300.0,
            }
            for k, a in enumerate(POOLS)
        ],
        "blocks": blocks,
        "checkpoints": [
            {
                "name": "ingest",
                "chain_id": CHAIN,
                "block_number": last_block,
                "block_hash": f"0x{last_block:064x}",
                "block_time": T0 + 3 * (last_block - 1_000_000),
            }
        ],
        "trades": trades,
        "tx_journal": journal,
        "system_config": [
            {"key": "trading_enabled", "value": "false\nwith a newline \\ and a backslash"}
        ],
        "audit_log": [{"actor": "operator", "action": "stop", "detail": '{"why": "drill"}'}],
    }


def populate(url: str, n_swaps: int = 2000, seed: int = 1) -> None:
    """Migrate ``url`` to head and fill it."""
    engine = create_engine(url)
    try:
        migrate(engine)
        rows = (
            list(swaps(n_swaps, seed))
            if engine.dialect.name == "sqlite" or n_swaps < 50_000
            else None
        )
        if rows is not None:
            with engine.begin() as conn:
                conn.execute(
                    insert(schema.swaps), [dict(zip(SWAP_COLUMNS, r, strict=True)) for r in rows]
                )
        else:
            _copy_swaps(engine, n_swaps, seed)
        made = candles(rows if rows is not None else swaps(n_swaps, seed))
        with engine.begin() as conn:
            conn.execute(insert(schema.candles), made)
            for table, values in _others(n_swaps, seed).items():
                if values:
                    conn.execute(insert(schema.metadata.tables[table]), values)
    finally:
        engine.dispose()


def _copy_swaps(engine: Any, n: int, seed: int) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.driver_connection.cursor()
        with cur.copy(f"COPY swaps ({', '.join(SWAP_COLUMNS)}) FROM STDIN") as copy:
            for row in swaps(n, seed):
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
