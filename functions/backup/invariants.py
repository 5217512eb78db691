"""What must hold in any store the node wrote, checked on a restored copy by the drill.

- every candle equals the aggregate of its swaps (count, open/high/low/close, volumes, first and
  last block), for every candle whose swaps are all still stored (pruning removes old swaps and
  keeps candles: a candle that starts before the oldest stored swap of its pool is skipped);
- every checkpoint's block is among the stored blocks, with the same hash;
- journal rows are well formed: known statuses and kinds, hashes and raw transactions in hex,
  settled transactions with a block, journal entries pointing at existing trades.

Each check returns problems (at most a few examples each, with the total count), never raises
for a finding.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, text

from shared.config import CANDLE_INTERVALS
from shared.db.engine import create_engine

EXAMPLES = 3
TRADE_STATUSES = {
    "intended", "refused", "simulated", "simulation_failed", "submitted", "mined", "reverted",
    "failed", "cancelled",
}  # fmt: skip
TX_STATUSES = {"signed", "broadcast", "mined", "reverted", "replaced", "dropped", "failed"}
TX_KINDS = {"trade", "speedup", "cancel"}
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")

_AGGREGATE = """
SELECT chain_id, pool, bucket, COUNT(*), MAX(price), MIN(price), SUM(volume_base),
       SUM(volume_quote), MIN(block_number), MAX(block_number), MIN(first_price), MIN(last_price)
FROM (
    SELECT chain_id, pool, block_time - (block_time % :sec) AS bucket, price, volume_base,
           volume_quote, block_number,
           FIRST_VALUE(price) OVER w AS first_price,
           LAST_VALUE(price) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
               AS last_price
    FROM swaps WHERE price IS NOT NULL
    WINDOW w AS (PARTITION BY chain_id, pool, block_time - (block_time % :sec)
                 ORDER BY block_number, log_index)
) AS s
GROUP BY chain_id, pool, bucket
"""


def _summarise(what: str, found: list[str]) -> list[str]:
    if not found:
        return []
    more = f" (and {len(found) - EXAMPLES} more)" if len(found) > EXAMPLES else ""
    return [f"{what}: {'; '.join(found[:EXAMPLES])}{more}"]


def _close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


def candle_problems(conn: Connection) -> list[str]:
    firsts = {
        (r[0], r[1]): r[2]
        for r in conn.execute(
            text("SELECT chain_id, pool, MIN(block_number) FROM swaps GROUP BY chain_id, pool")
        )
    }
    found: list[str] = []
    intervals = [r[0] for r in conn.execute(text("SELECT DISTINCT interval FROM candles"))]
    for interval in intervals:
        sec = CANDLE_INTERVALS.get(interval)
        if sec is None:
            found.append(f"unknown interval {interval!r}")
            continue
        agg = {(r[0], r[1], r[2]): r for r in conn.execute(text(_AGGREGATE), {"sec": sec})}
        candles = conn.execute(
            text(
                "SELECT chain_id, pool, open_time, open, high, low, close, volume_base,"
                " volume_quote, trades, first_block, last_block FROM candles WHERE interval = :i"
            ),
            {"i": interval},
        )
        seen = set()
        for c in candles:
            first = firsts.get((c[0], c[1]))
            if first is None or c[10] < first:
                continue  # its swaps were pruned (or never stored): nothing to compare with
            key = (c[0], c[1], c[2])
            seen.add(key)
            a = agg.get(key)
            name = f"{interval} candle {c[1]} at {c[2]}"
            if a is None:
                found.append(f"{name} has no swaps")
                continue
            checks = [
                ("trades", c[9] == a[3]),
                ("high", _close(c[4], a[4], 1e-12)),
                ("low", _close(c[5], a[5], 1e-12)),
                ("volume_base", _close(c[7], a[6], 1e-9)),
                ("volume_quote", _close(c[8], a[7], 1e-9)),
                ("first_block", c[10] == a[8]),
                ("last_block", c[11] == a[9]),
                ("open", _close(c[3], a[10], 1e-12)),
                ("close", _close(c[6], a[11], 1e-12)),
            ]
            wrong = [field for field, ok in checks if not ok]
            if wrong:
                found.append(f"{name} differs from its swaps in {', '.join(wrong)}")
        for key in agg.keys() - seen:
            first = firsts.get((key[0], key[1]))
            if first is not None and agg[key][8] >= first:
                found.append(f"swaps of {key[1]} at {key[2]} have no {interval} candle")
    return _summarise("candles that do not match their swaps", found)


def checkpoint_problems(conn: Connection) -> list[str]:
    found = []
    for name, chain, number, block_hash in conn.execute(
        text("SELECT name, chain_id, block_number, block_hash FROM checkpoints")
    ):
        row = conn.execute(
            text("SELECT hash FROM blocks WHERE chain_id = :c AND number = :n"),
            {"c": chain, "n": number},
        ).first()
        if row is None:
            found.append(f"checkpoint {name!r} is at block {number}, which is not stored")
        elif row[0] != block_hash:
            found.append(f"checkpoint {name!r} names block {number} with another hash")
    return _summarise("checkpoints without their block", found)


def _journal_row_problems(rows: Iterable[Any], trade_ids: set[int]) -> list[str]:
    found = []
    for r in rows:
        what = f"tx_journal {r.id}"
        if r.status not in TX_STATUSES:
            found.append(f"{what}: unknown status {r.status!r}")
        if r.kind not in TX_KINDS:
            found.append(f"{what}: unknown kind {r.kind!r}")
        if not _HASH.fullmatch(r.tx_hash or ""):
            found.append(f"{what}: tx_hash is not a 32-byte hex hash")
        if not _HEX.fullmatch(r.raw_tx or ""):
            found.append(f"{what}: raw_tx is not hex")
        if not _ADDRESS.fullmatch(r.sender or ""):
            found.append(f"{what}: sender is not an address")
        if r.nonce is None or r.nonce < 0 or (r.broadcasts or 0) < 0:
            found.append(f"{what}: negative nonce or broadcast count")
        if r.status in ("mined", "reverted") and r.block_number is None:
            found.append(f"{what}: {r.status} without a block")
        if r.trade_id is not None and r.trade_id not in trade_ids:
            found.append(f"{what}: trade {r.trade_id} does not exist")
    return found


def journal_problems(conn: Connection) -> list[str]:
    found = []
    trade_ids = set()
    for r in conn.execute(text("SELECT id, mode, status, tx_hash FROM trades")):
        trade_ids.add(r.id)
        if r.mode not in ("paper", "live"):
            found.append(f"trade {r.id}: unknown mode {r.mode!r}")
        if r.status not in TRADE_STATUSES:
            found.append(f"trade {r.id}: unknown status {r.status!r}")
        if r.status in ("mined", "reverted") and not _HASH.fullmatch(r.tx_hash or ""):
            found.append(f"trade {r.id}: {r.status} without a transaction hash")
    rows = conn.execute(
        text(
            "SELECT id, status, kind, tx_hash, raw_tx, sender, nonce, broadcasts, block_number,"
            " trade_id FROM tx_journal"
        )
    )
    found += _journal_row_problems(rows, trade_ids)
    return _summarise("malformed journal rows", found)


def invariant_problems(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return candle_problems(conn) + checkpoint_problems(conn) + journal_problems(conn)
    finally:
        engine.dispose()
