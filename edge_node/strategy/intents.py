"""What a strategy wants done: a trade, not yet a transaction."""

from __future__ import annotations

from typing import NamedTuple


class Intent(NamedTuple):
    """A two-leg arbitrage: buy the middle token in ``pool_buy`` with ``amount_in`` of the
    capital token, sell it in ``pool_sell``. Amounts are raw units of the capital token.

    Immutable, and a tuple: made on the hot path, where building a frozen dataclass costs
    three times as much."""

    strategy: str
    pair: str  # the configured pair it belongs to (one trade in flight per pair)
    pool_buy: str
    fee_buy_bps: int
    pool_sell: str
    fee_sell_bps: int
    token_in: str  # the capital token's address
    amount_in: int
    expected_mid: int
    expected_out: int
    gas_limit: int
    gas_price: int  # wei
    gas_cost: int  # gas_limit * gas_price, in capital units (the capital is wrapped native)
    min_profit: int  # the on-chain guard: the executor reverts below this gross profit
    trigger_block: int
    trigger_log_index: int

    @property
    def expected_profit(self) -> int:
        """Gross, before gas."""
        return self.expected_out - self.amount_in

    @property
    def expected_net(self) -> int:
        return self.expected_profit - self.gas_cost
