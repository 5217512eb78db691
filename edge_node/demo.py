"""The demo chain's node: its chain id, and the node config that follows (and trades on) a
deployed demo market. ``edge-node demo`` runs it (``demo_run``); tests and the laptop stand-in
start nodes against anvil with it too."""

from __future__ import annotations

from typing import Any

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup
from edge_node.devchain.market import DeployedMarket
from shared.config import NodeConfig, parse_config

DEMO_CHAIN_ID = 31337


def trading_sections(setup: ArbSetup) -> dict[str, Any]:
    """The strategy, risk and execution sections for the demo's arbitrage setup."""
    first, second = setup.arb_pairs
    return {
        "strategy": {
            "pairs": [{"pools": [first.name, second.name], "capital": setup.capital_token}],
            "min_profit": "0.0002",
            "max_input": "20",
            "gas_limit": 200_000,
        },
        "risk": {
            "max_trade_size": "25",
            "max_daily_loss": "1",
            "max_gas_price_gwei": 50,
            "min_gas_balance": "1",
            "max_consecutive_failures": 5,
            "max_data_age_s": 30,
        },
        "execution": {
            "executor": setup.executor.lower(),
            "owner": setup.bot.address.lower(),
            "tx_type": "legacy",
            "replace_after_blocks": 3,
        },
    }


def node_config_for(
    anvil: Anvil,
    market: DeployedMarket,
    store_url: str,
    api_token: str,
    *,
    api_port: int = 0,
    websocket: bool = True,
    endpoints: list[dict[str, Any]] | None = None,
    trading: dict[str, Any] | None = None,
    **chain: Any,
) -> NodeConfig:
    """A node config that follows every pair of a deployed demo market (and trades if asked)."""
    data: dict[str, Any] = {
        "chain": {
            "name": "anvil",
            "chain_id": anvil.chain_id,
            "local": True,
            "start_block": market.start_block,
            "liveness_timeout_s": 10.0,
            "poll_interval_s": 0.25,
            "probe_interval_s": 2.0,
            "request_timeout_s": 5.0,
            **chain,
        },
        "endpoints": endpoints
        or [{"name": "anvil", "ws_url": anvil.ws_url, "http_url": anvil.http_url}],
        "pools": [
            {
                "name": p.name,
                "address": p.address.lower(),
                "kind": "v2",
                "token0": p.symbol0,
                "token1": p.symbol1,
                "decimals0": p.decimals0,
                "decimals1": p.decimals1,
                "base": "token0" if p.base_is_token0 else "token1",
                "fee_bps": p.fee_bps,
            }
            for p in market.pairs
        ],
        "store": {"url": store_url},
        "api": {"host": "127.0.0.1", "port": api_port, "token": api_token},
        "health": {"max_block_age_s": 15.0},
        "websocket": websocket,
        **(trading or {}),
    }
    return parse_config(data, source="demo", env={})
