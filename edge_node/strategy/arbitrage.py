"""Arbitrage between two constant-product pools of the same pair with different fees.

On every update of a pool's reserves it looks at the configured pairs that pool belongs to,
in both directions, sizes the trade with the closed form (``cpmm``), prices it with the pairs'
own integer maths, and wants it if the profit net of gas reaches ``min_profit``. The on-chain
guard it asks for (``min_profit`` of the Intent) is gas cost plus that minimum, so a trade that
would end up losing after gas reverts instead (the executor contract enforces it).

The capital token is the chain's wrapped native token (WBNB, WETH): gas, paid in native, is
then priced 1:1 in capital units.
"""

from __future__ import annotations

from dataclasses import dataclass

from edge_node.market.pools import PoolInfo
from edge_node.strategy.base import Reserves
from edge_node.strategy.cpmm import optimal_input, round_trip
from edge_node.strategy.intents import Intent

NAME = "two_pool_arbitrage"


@dataclass(frozen=True, slots=True)
class ArbPair:
    name: str
    a: PoolInfo
    b: PoolInfo
    capital: str  # address of the capital token
    capital_is_token0: bool


@dataclass(frozen=True, slots=True)
class ArbParams:
    """Raw units of the capital token."""

    min_profit: int
    max_input: int
    gas_limit: int
    enabled: bool = True


class TwoPoolArbitrage:
    name = NAME

    def __init__(self, pairs: list[ArbPair], params: ArbParams) -> None:
        self.pairs = pairs
        self.params = params
        self.by_pool: dict[str, list[ArbPair]] = {}
        for p in pairs:
            self.by_pool.setdefault(p.a.address, []).append(p)
            self.by_pool.setdefault(p.b.address, []).append(p)

    def update_params(self, params: ArbParams) -> None:
        self.params = params

    @property
    def gas_limit(self) -> int:
        return self.params.gas_limit

    @property
    def capital_token(self) -> str:
        return self.pairs[0].capital  # one capital token for all pairs (the config checks)

    def pair_of(self, pools: tuple[str, str]) -> str | None:
        for pair in self.pairs:
            if {pair.a.address, pair.b.address} == set(pools):
                return pair.name
        return None

    def on_update(
        self, pool: str, reserves: Reserves, gas_price: int, capital_available: int
    ) -> list[Intent]:
        """Intents for the pairs ``pool`` belongs to, at most one per pair."""
        params = self.params
        if not params.enabled:
            return []
        out: list[Intent] = []
        for pair in self.by_pool.get(pool, ()):
            best = self._best(pair, reserves, gas_price, min(params.max_input, capital_available))
            if best is not None:
                out.append(best)
        return out

    def _best(
        self, pair: ArbPair, reserves: Reserves, gas_price: int, max_input: int
    ) -> Intent | None:
        params = self.params
        ra0, ra1, block_a, idx_a = reserves(pair.a.address)
        rb0, rb1, block_b, idx_b = reserves(pair.b.address)
        if pair.capital_is_token0:
            a_cap, a_mid, b_cap, b_mid = ra0, ra1, rb0, rb1
        else:
            a_cap, a_mid, b_cap, b_mid = ra1, ra0, rb1, rb0
        gas_cost = params.gas_limit * gas_price
        trigger = max((block_a, idx_a), (block_b, idx_b))
        best: Intent | None = None
        for buy, sell, buy_cap, buy_mid, sell_mid, sell_cap in (
            (pair.a, pair.b, a_cap, a_mid, b_mid, b_cap),
            (pair.b, pair.a, b_cap, b_mid, a_mid, a_cap),
        ):
            x = optimal_input(buy_cap, buy_mid, buy.fee_bps, sell_mid, sell_cap, sell.fee_bps)
            x = min(x, max_input)
            if x <= 0:
                continue
            mid, back = round_trip(
                x, buy_cap, buy_mid, buy.fee_bps, sell_mid, sell_cap, sell.fee_bps
            )
            net = back - x - gas_cost
            if net < params.min_profit or (best is not None and net <= best.expected_net):
                continue
            # Positional (keywords cost more than the rest of this loop); the order is
            # Intent's: strategy, pair, pool_buy, fee_buy_bps, pool_sell, fee_sell_bps,
            # token_in, amount_in, expected_mid, expected_out, gas_limit, gas_price, gas_cost,
            # min_profit, trigger_block, trigger_log_index.
            best = Intent(
                NAME,
                pair.name,
                buy.address,
                buy.fee_bps,
                sell.address,
                sell.fee_bps,
                pair.capital,
                x,
                mid,
                back,
                params.gas_limit,
                gas_price,
                gas_cost,
                gas_cost + params.min_profit,
                trigger[0],
                trigger[1],
            )
        return best
