"""Risk limits: every trade passes here before anything is signed. Pure logic, no I/O.

``check`` returns None (allowed) or the first Refusal, naming the limit. Two limits do more
than refuse: too many consecutive failures, and stale market data, ask the control module to
pause trading (``Refusal.pause``), which then needs an operator to resume. The caller counts
every refusal in metrics and writes it to the audit log.

Amounts are raw units: capital in the capital token (the wrapped native token), gas balance
and gas price in wei.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from edge_node.strategy.intents import Intent

MAX_TRADE_SIZE = "max_trade_size"
MAX_DAILY_LOSS = "max_daily_loss"
MAX_GAS_PRICE = "max_gas_price"
MIN_GAS_BALANCE = "min_gas_balance"
MAX_CONSECUTIVE_FAILURES = "max_consecutive_failures"
STALE_MARKET_DATA = "stale_market_data"
LIMITS = (
    MAX_TRADE_SIZE,
    MAX_DAILY_LOSS,
    MAX_GAS_PRICE,
    MIN_GAS_BALANCE,
    MAX_CONSECUTIVE_FAILURES,
    STALE_MARKET_DATA,
)


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_trade_size: int
    max_daily_loss: int  # a positive number: the loss at which trading stops for the day
    max_gas_price: int
    min_gas_balance: int
    max_consecutive_failures: int
    max_data_age_s: float


@dataclass(frozen=True, slots=True)
class Refusal:
    limit: str
    detail: str
    pause: bool = False  # the condition will not clear by itself: pause trading


@dataclass(frozen=True, slots=True)
class Outcome:
    """A settled live trade: its realised profit (negative for a loss) net of gas.

    ``success`` None: neither (a cancelled trade, a filled nonce): its gas counts against the
    daily loss, and the failure streak is left as it is."""

    success: bool | None
    net: int


DAY_S = 86_400


def _day(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")


@dataclass
class RiskGate:
    limits: RiskLimits
    day: str = ""
    daily_pnl: int = 0
    consecutive_failures: int = 0
    refusals: dict[str, int] = field(default_factory=dict)
    _day_end: float = 0.0  # when ``day`` (UTC) ends: formatting a date costs more than a check

    def update_limits(self, limits: RiskLimits) -> None:
        self.limits = limits

    def check(
        self,
        intent: Intent,
        *,
        gas_price: int,
        gas_balance: int,
        data_age_s: float,
        now: float,
    ) -> Refusal | None:
        refusal = self._check(intent, gas_price, gas_balance, data_age_s, now)
        if refusal is not None:
            self.refusals[refusal.limit] = self.refusals.get(refusal.limit, 0) + 1
        return refusal

    def _check(
        self, intent: Intent, gas_price: int, gas_balance: int, data_age_s: float, now: float
    ) -> Refusal | None:
        lim = self.limits
        self._roll_day(now)
        if data_age_s > lim.max_data_age_s:
            return Refusal(
                STALE_MARKET_DATA,
                f"market data is {data_age_s:.1f}s old (limit {lim.max_data_age_s:.1f}s)",
                pause=True,
            )
        if self.consecutive_failures >= lim.max_consecutive_failures:
            return Refusal(
                MAX_CONSECUTIVE_FAILURES,
                f"{self.consecutive_failures} trades failed in a row "
                f"(limit {lim.max_consecutive_failures})",
                pause=True,
            )
        if intent.amount_in > lim.max_trade_size:
            return Refusal(
                MAX_TRADE_SIZE, f"size {intent.amount_in} above limit {lim.max_trade_size}"
            )
        if gas_price > lim.max_gas_price:
            return Refusal(MAX_GAS_PRICE, f"gas price {gas_price} above limit {lim.max_gas_price}")
        if gas_balance - intent.gas_limit * gas_price < lim.min_gas_balance:
            return Refusal(
                MIN_GAS_BALANCE,
                f"gas balance {gas_balance} would fall below {lim.min_gas_balance}",
            )
        # The worst this trade can do is revert and burn its gas.
        if -self.daily_pnl + intent.gas_cost > lim.max_daily_loss:
            return Refusal(
                MAX_DAILY_LOSS,
                f"today's loss {-self.daily_pnl} plus this trade's gas {intent.gas_cost} "
                f"would exceed {lim.max_daily_loss}",
            )
        return None

    def record(self, outcome: Outcome, now: float) -> None:
        self._roll_day(now)
        self.daily_pnl += outcome.net
        if outcome.success is None:
            return
        self.consecutive_failures = 0 if outcome.success else self.consecutive_failures + 1

    def restore(self, now: float, daily_pnl: int, consecutive_failures: int) -> None:
        """Carry today's tally over a restart (from the journal): restarting must not reset
        the daily loss limit or a failure streak."""
        self._roll_day(now)
        self.daily_pnl = daily_pnl
        self.consecutive_failures = consecutive_failures

    def reset_failures(self) -> None:
        """An operator resumed trading: the failure streak that paused it is acknowledged."""
        self.consecutive_failures = 0

    def _roll_day(self, now: float) -> None:
        if now < self._day_end and self.day:
            return
        day = _day(now)
        self._day_end = (now // DAY_S + 1) * DAY_S
        if day != self.day:
            self.day = day
            self.daily_pnl = 0
