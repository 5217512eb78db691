"""Pool identity and pool state: reserves (V2), price and liquidity (V3), and the mid price.

Prices are ``quote per base`` in human units (token decimals applied), as floats: they feed
candles and the API. Reserves and amounts stay exact integers.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.config import PoolConfig

Q96 = 1 << 96


@dataclass(frozen=True, slots=True)
class PoolInfo:
    address: str
    name: str
    kind: str  # "v2" or "v3"
    token0: str
    token1: str
    decimals0: int
    decimals1: int
    base_is_token0: bool
    fee_bps: int

    @classmethod
    def from_config(cls, cfg: PoolConfig) -> PoolInfo:
        return cls(
            address=cfg.address,
            name=cfg.name,
            kind=cfg.kind,
            token0=cfg.token0,
            token1=cfg.token1,
            decimals0=cfg.decimals0,
            decimals1=cfg.decimals1,
            base_is_token0=cfg.base == "token0",
            fee_bps=cfg.fee_bps,
        )

    @property
    def base(self) -> str:
        return self.token0 if self.base_is_token0 else self.token1

    @property
    def quote(self) -> str:
        return self.token1 if self.base_is_token0 else self.token0


@dataclass(slots=True)
class PoolState:
    """Mutable state of one pool as of ``(block, log_index)`` of the last event applied."""

    reserve0: int = 0
    reserve1: int = 0
    sqrt_price_x96: int = 0
    liquidity: int = 0
    tick: int = 0
    block: int = -1
    log_index: int = -1
    price: float | None = None  # quote per base, None until the first state event

    def copy(self) -> PoolState:
        return PoolState(
            self.reserve0,
            self.reserve1,
            self.sqrt_price_x96,
            self.liquidity,
            self.tick,
            self.block,
            self.log_index,
            self.price,
        )

    def to_list(self) -> list[int | float | None]:
        return [
            self.reserve0,
            self.reserve1,
            self.sqrt_price_x96,
            self.liquidity,
            self.tick,
            self.block,
            self.log_index,
            self.price,
        ]

    @classmethod
    def from_list(cls, v: list[int | float | None]) -> PoolState:
        r0, r1, sp, liq, tick, block, idx, price = v
        assert isinstance(r0, int) and isinstance(r1, int) and isinstance(sp, int)
        assert isinstance(liq, int) and isinstance(tick, int)
        assert isinstance(block, int) and isinstance(idx, int)
        return cls(r0, r1, sp, liq, tick, block, idx, None if price is None else float(price))


class PriceScale:
    """Turns raw pool quantities into ``quote per base`` prices and human amounts."""

    __slots__ = ("base_is_token0", "unit0", "unit1", "v2_factor")

    def __init__(self, info: PoolInfo) -> None:
        self.base_is_token0 = info.base_is_token0
        self.unit0 = 10.0**info.decimals0
        self.unit1 = 10.0**info.decimals1
        # token1-per-token0 in human units = raw ratio * 10^(d0 - d1)
        self.v2_factor = 10.0 ** (info.decimals0 - info.decimals1)

    def from_reserves(self, reserve0: int, reserve1: int) -> float | None:
        if reserve0 <= 0 or reserve1 <= 0:
            return None
        p1per0 = reserve1 / reserve0 * self.v2_factor
        return p1per0 if self.base_is_token0 else 1.0 / p1per0

    def from_sqrt_price(self, sqrt_price_x96: int) -> float | None:
        if sqrt_price_x96 <= 0:
            return None
        ratio = sqrt_price_x96 / Q96
        p1per0 = ratio * ratio * self.v2_factor
        return p1per0 if self.base_is_token0 else 1.0 / p1per0

    def volumes(self, amount0: int, amount1: int) -> tuple[float, float]:
        """(base volume, quote volume) in human units from raw token amounts."""
        v0, v1 = amount0 / self.unit0, amount1 / self.unit1
        return (v0, v1) if self.base_is_token0 else (v1, v0)
