"""Building blocks of decoded events for market tests (no chain, no JSON)."""

from __future__ import annotations

from edge_node.chain.events import BlockHeader, PoolEvent, SwapV2Event, SwapV3Event, SyncEvent
from edge_node.market.pools import PoolInfo

T0 = 1_700_000_000 - 1_700_000_000 % 3600  # an hour boundary

POOL_A = PoolInfo("0x" + "aa" * 20, "WBNB-USDT", "v2", "WBNB", "USDT", 18, 18, True, 25)
POOL_B = PoolInfo("0x" + "bb" * 20, "ETH-USDC", "v2", "ETH", "USDC", 18, 6, True, 30)
POOL_C = PoolInfo("0x" + "cc" * 20, "USDT-CAKE", "v2", "CAKE", "USDT", 18, 18, False, 25)
POOL_V3 = PoolInfo("0x" + "dd" * 20, "WBNB-USDT-V3", "v3", "WBNB", "USDT", 18, 18, True, 5)


def block_hash(number: int, fork: int = 0) -> str:
    return "0x" + f"{fork:02x}" + f"{number:062x}"


def header(
    number: int, ts: int | None = None, fork: int = 0, parent_fork: int | None = None
) -> BlockHeader:
    pf = fork if parent_fork is None else parent_fork
    return BlockHeader(
        number,
        block_hash(number, fork),
        block_hash(number - 1, pf),
        T0 + number if ts is None else ts,
    )


def sync(pool: PoolInfo, h: BlockHeader, index: int, r0: int, r1: int) -> SyncEvent:
    return SyncEvent(pool.address, h.number, h.hash, index, "0x" + "0" * 64, False, r0, r1)


def swap(
    pool: PoolInfo, h: BlockHeader, index: int, a0in: int, a1in: int, a0out: int, a1out: int
) -> SwapV2Event:
    return SwapV2Event(
        pool.address,
        h.number,
        h.hash,
        index,
        "0x" + "1" * 64,
        False,
        "0x" + "2" * 40,
        "0x" + "3" * 40,
        a0in,
        a1in,
        a0out,
        a1out,
    )


def v3swap(
    pool: PoolInfo, h: BlockHeader, index: int, a0: int, a1: int, sqrt_price: int
) -> SwapV3Event:
    return SwapV3Event(
        pool.address,
        h.number,
        h.hash,
        index,
        "0x" + "1" * 64,
        False,
        "0x" + "2" * 40,
        "0x" + "3" * 40,
        a0,
        a1,
        sqrt_price,
        10**18,
        0,
    )


def trade(
    pool: PoolInfo, h: BlockHeader, index: int, r0: int, r1: int, a0in: int, a1out: int
) -> list[PoolEvent]:
    """A V2 swap as pairs emit it: Sync (new reserves) then Swap."""
    return [sync(pool, h, index, r0, r1), swap(pool, h, index + 1, a0in, 0, 0, a1out)]
