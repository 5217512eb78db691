"""A store with rows on both sides of the prune's horizon and of each table's guard, and the
archive read back, so tests can say exactly which rows must go and which must stay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from functions.prune import archive
from functions.prune.tables import SPECS
from shared.db import schema
from shared.db.engine import create_engine, migrate

CHAIN = 56
CHECKPOINT_BLOCK = 10_000  # blocks above 10_000 - 1024 are in the protected window
HORIZON_DAYS = 90


@dataclass
class Seeded:
    engine: Engine
    now: datetime
    # table -> keys (tuples) that must be archived / must stay
    goes: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    stays: dict[str, set[tuple[Any, ...]]] = field(default_factory=dict)
    # table -> key -> the full row before the prune (canonical form)
    rows: dict[str, dict[tuple[Any, ...], list[Any]]] = field(default_factory=dict)
    candles: int = 0


def _spec(name: str) -> Any:
    return next(s for s in SPECS if s.name == name)


def seed_store(url: str, now: datetime, old_swaps: int = 40) -> Seeded:
    engine = create_engine(url)
    migrate(engine)
    old = now - timedelta(days=HORIZON_DAYS + 30)
    recent = now - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(
            schema.checkpoints.insert().values(
                name="head",
                chain_id=CHAIN,
                block_number=CHECKPOINT_BLOCK,
                block_hash="0x" + "11" * 32,
                block_time=int(now.timestamp()),
            )
        )

        def swap(i: int, block: int, t: datetime) -> dict[str, Any]:
            return {
                "chain_id": CHAIN,
                "pool": "0x" + "a1" * 20,
                "block_number": block,
                "block_hash": f"0x{i:064x}",
                "log_index": 0,
                "tx_hash": f"0x{i:064x}",
                "block_time": int(t.timestamp()),
                "sender": "0x" + "01" * 20,
                "recipient": "0x" + "02" * 20,
                "amount0_in": 10**30 + i,  # above 64 bits: must survive exactly
                "amount1_in": 0,
                "amount0_out": 0,
                "amount1_out": i,
                "price": 300.5 + i,
                "volume_base": 1.25,
                "volume_quote": 0.1 * i,
            }

        # Old swaps over three days (three partitions), then old-by-time ones inside the reorg
        # window (they stay), then recent ones.
        rows = [
            swap(i, 1000 + i, old + timedelta(hours=18 * (i * 3 // max(old_swaps, 1))))
            for i in range(old_swaps)
        ]
        rows += [swap(old_swaps + i, 9_500 + i, old) for i in range(3)]
        rows += [swap(old_swaps + 3 + i, 9_990 + i, recent) for i in range(5)]
        conn.execute(schema.swaps.insert(), rows)
        blocks = [(2000 + i, old) for i in range(5)] + [(9_995 + i, old) for i in range(3)]
        blocks += [(9_998 + i, recent) for i in range(2)]
        conn.execute(
            schema.blocks.insert(),
            [
                {
                    "chain_id": CHAIN,
                    "number": n,
                    "hash": f"0x{n:064x}",
                    "parent_hash": f"0x{n - 1:064x}",
                    "timestamp": int(t.timestamp()),
                    "undo": json.dumps({"n": n}),
                }
                for n, t in blocks
            ],
        )
        conn.execute(
            schema.audit_log.insert(),
            [
                {"at": t, "actor": "test", "action": "pause", "detail": json.dumps({"i": i})}
                for i, t in enumerate([old] * 6 + [recent] * 2)
            ],
        )

        def trade(status: str, t: datetime) -> int:
            r = conn.execute(
                schema.trades.insert().values(
                    chain_id=CHAIN,
                    created_at=t,
                    updated_at=t,
                    mode="live",
                    strategy="two_pool_arbitrage",
                    pool_buy="0x" + "a1" * 20,
                    pool_sell="0x" + "b2" * 20,
                    token_in="0x" + "bb" * 20,
                    amount_in=10**18,
                    expected_profit=-(10**15),  # negative amounts survive too
                    min_profit=0,
                    gas_limit=250_000,
                    gas_price=5 * 10**9,
                    status=status,
                    profit=None if status != "mined" else 5 * 10**15,
                    trigger_block=1,
                    trigger_log_index=0,
                )
            )
            key = r.inserted_primary_key
            assert key is not None
            return int(key[0])

        settled_old = [trade(s, old) for s in ("mined", "reverted", "refused", "cancelled")]
        pending_old = trade("submitted", old)
        recent_ids = [trade("mined", recent), trade("reverted", recent)]
        nonce = iter(range(1000))

        def tx(trade_id: int | None, status: str, t: datetime) -> None:
            n = next(nonce)
            conn.execute(
                schema.tx_journal.insert().values(
                    chain_id=CHAIN,
                    sender="0x" + "0e" * 20,
                    nonce=n,
                    tx_hash=f"0x{n + 10**6:064x}",
                    raw_tx="0x02f8",
                    kind="trade" if trade_id else "cancel",
                    trade_id=trade_id,
                    gas_price=5 * 10**9,
                    status=status,
                    created_at=t,
                    gas_used=21_000 if status == "mined" else None,
                    effective_gas_price=5 * 10**9 if status == "mined" else None,
                )
            )

        tx(settled_old[0], "mined", old)
        tx(settled_old[3], "replaced", old)
        tx(pending_old, "replaced", old)  # its trade is still pending: stays
        tx(pending_old, "broadcast", old)  # open: stays
        tx(None, "mined", old)  # a nonce fill
        tx(recent_ids[0], "mined", recent)
        conn.execute(
            schema.candles.insert(),
            [
                {
                    "chain_id": CHAIN,
                    "pool": "0x" + "a1" * 20,
                    "interval": "1m",
                    "open_time": int(old.timestamp()) + 60 * i,
                    "open": 1.0,
                    "high": 1.0,
                    "low": 1.0,
                    "close": 1.0,
                    "volume_base": 1.0,
                    "volume_quote": 1.0,
                    "trades": 1,
                    "first_block": 1,
                    "last_block": 1,
                    "closed": True,
                }
                for i in range(5)
            ],
        )
    seeded = Seeded(engine, now, candles=5)
    horizon = now - timedelta(days=HORIZON_DAYS)
    for spec in SPECS:
        current = _all_rows(engine, spec.name)
        seeded.rows[spec.name] = current
        seeded.goes[spec.name] = set()
        seeded.stays[spec.name] = set()
    _classify(seeded, horizon, pending_old)
    return seeded


def _classify(s: Seeded, horizon: datetime, pending_trade: int) -> None:
    """The expected outcome, written independently of the prune's own conditions."""
    h = horizon.timestamp()
    safe = CHECKPOINT_BLOCK - 1024
    names = {spec.name: [c.name for c in spec.table.columns] for spec in SPECS}
    for table, rows in s.rows.items():
        for key, row in rows.items():
            r = dict(zip(names[table], row, strict=True))
            if table == "swaps":
                goes = int(r["block_time"]) < h and int(r["block_number"]) <= safe
            elif table == "blocks":
                goes = int(r["timestamp"]) < h and int(r["number"]) <= safe
            elif table == "audit_log":
                goes = datetime.fromisoformat(r["at"]).timestamp() < h
            elif table == "trades":
                goes = (
                    datetime.fromisoformat(r["created_at"]).timestamp() < h
                    and r["status"] != "submitted"
                )
            else:
                goes = (
                    datetime.fromisoformat(r["created_at"]).timestamp() < h
                    and r["status"] != "broadcast"
                    and r["trade_id"] != str(pending_trade)
                )
            (s.goes if goes else s.stays)[table].add(key)


def _all_rows(engine: Engine, table: str) -> dict[tuple[Any, ...], list[Any]]:
    spec = _spec(table)
    names = [c.name for c in spec.table.columns]
    idx = [names.index(k) for k in spec.key]
    with engine.connect() as conn:
        rows = conn.execute(select(spec.table)).all()
    return {
        tuple(archive.canonical(r[i]) for i in idx): [archive.canonical(v) for v in r] for r in rows
    }


def keys_in_db(engine: Engine, table: str) -> set[tuple[Any, ...]]:
    return set(_all_rows(engine, table))


def archived(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, str, list[Any]]]:
    """(table, object key, canonical row) for every row of every archive object."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix + "/"):
        for obj in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            table = obj["Key"].removeprefix(prefix + "/").split("/")[0]
            _, rows = archive.decode(body)
            for row in rows:
                yield table, obj["Key"], [archive.canonical(v) for v in row]


def check_exactly_once(s: Seeded, s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Every row that had to go is archived exactly once, identical to what was in the
    database, under its day's partition, and gone from the database; every other row is
    still there. Returns rows archived per table."""
    seen: dict[str, dict[tuple[Any, ...], int]] = {t: {} for t in s.rows}
    names = {spec.name: [c.name for c in spec.table.columns] for spec in SPECS}
    for table, key, row in archived(s3, bucket, prefix):
        spec = _spec(table)
        k = tuple(row[names[table].index(c)] for c in spec.key)
        assert row == s.rows[table][k], f"{table} {k} archived differently"
        raw: dict[str, Any] = dict(zip(names[table], row, strict=True))
        for c in ("block_time", "timestamp"):
            if c in raw:
                raw[c] = int(raw[c])
        for c in ("at", "created_at"):
            if c in raw:
                raw[c] = datetime.fromisoformat(raw[c])
        day = spec.day_of(raw).astimezone(UTC).strftime("%Y-%m-%d")
        assert f"/day={day}/" in key
        seen[table][k] = seen[table].get(k, 0) + 1
    for table in s.rows:
        twice = {k: n for k, n in seen[table].items() if n != 1}
        assert twice == {}, f"{table}: archived more than once: {twice}"
        assert set(seen[table]) == s.goes[table], table
        assert keys_in_db(s.engine, table) == s.stays[table], table
    return {t: len(v) for t, v in seen.items()}
