"""The trading sections of the config as the numbers the strategy and the risk gate work in:
amounts in raw token units (the capital token's decimals; the native coin's for gas balances),
gas prices in wei. Pure: no I/O."""

from __future__ import annotations

from decimal import Decimal

from edge_node.risk import RiskLimits
from edge_node.strategy.arbitrage import ArbParams
from shared.config import ConfigError, NodeConfig

NATIVE_DECIMALS = 18


def raw(amount: Decimal, decimals: int) -> int:
    return int(amount * (Decimal(10) ** decimals))


def capital_decimals(cfg: NodeConfig) -> int:
    assert cfg.strategy is not None
    symbol = cfg.strategy.pairs[0].capital
    for p in cfg.pools:
        if p.token0 == symbol:
            return p.decimals0
        if p.token1 == symbol:
            return p.decimals1
    raise ConfigError("config", [f"strategy: capital token {symbol} in no pool"])


def risk_limits(cfg: NodeConfig) -> RiskLimits:
    r, cap = cfg.risk, capital_decimals(cfg)
    return RiskLimits(
        max_trade_size=raw(r.max_trade_size, cap),
        max_daily_loss=raw(r.max_daily_loss, cap),
        max_gas_price=int(r.max_gas_price_gwei * 10**9),
        min_gas_balance=raw(r.min_gas_balance, NATIVE_DECIMALS),
        max_consecutive_failures=r.max_consecutive_failures,
        max_data_age_s=r.max_data_age_s,
    )


def arb_params(cfg: NodeConfig) -> ArbParams:
    s, cap = cfg.strategy, capital_decimals(cfg)
    assert s is not None
    return ArbParams(
        min_profit=raw(s.min_profit, cap),
        max_input=raw(s.max_input, cap),
        gas_limit=s.gas_limit,
        enabled=s.enabled,
    )
