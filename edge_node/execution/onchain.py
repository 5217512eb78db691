"""Checks of the chain against the config before the first trade: the strategy pools' tokens
(both pools of a pair must trade the same two tokens) and the executor contract (deployed,
owned by the bot)."""

from __future__ import annotations

from edge_node.chain.keccak import event_topic
from edge_node.ingest.follower import Rpc
from edge_node.market.pools import PoolInfo
from edge_node.rpc.errors import EndpointMisconfigured
from edge_node.strategy.arbitrage import ArbPair
from shared.config import ExecutionConfig, PoolConfig, StrategyConfig

_TOKEN0 = bytes.fromhex(event_topic("token0()")[2:10])
_TOKEN1 = bytes.fromhex(event_topic("token1()")[2:10])
_OWNER = bytes.fromhex(event_topic("owner()")[2:10])


def _address_of(word: str) -> str:
    return "0x" + word[-40:].lower()


async def read_pairs(rpc: Rpc, strategy: StrategyConfig, pools: list[PoolConfig]) -> list[ArbPair]:
    """The strategy's pairs, with their token addresses read from the pools on chain; both
    pools of a pair must hold the same two tokens."""
    by_name = {p.name: p for p in pools}
    names = sorted({n for pair in strategy.pairs for n in pair.pools})
    calls = []
    for n in names:
        for sel in (_TOKEN0, _TOKEN1):
            calls.append(
                ("eth_call", [{"to": by_name[n].address, "data": "0x" + sel.hex()}, "latest"])
            )
    answers = await rpc.batch(calls)
    tokens = {
        n: (_address_of(answers[2 * i]), _address_of(answers[2 * i + 1]))
        for i, n in enumerate(names)
    }
    out = []
    for pair in strategy.pairs:
        a, b = (by_name[n] for n in pair.pools)
        if tokens[a.name] != tokens[b.name]:
            raise EndpointMisconfigured(
                f"strategy pools {a.name} and {b.name} do not hold the same tokens on chain: "
                f"{tokens[a.name]} vs {tokens[b.name]}"
            )
        capital_is_token0 = pair.capital == a.token0
        capital = tokens[a.name][0 if capital_is_token0 else 1]
        out.append(
            ArbPair(
                f"{a.name}/{b.name}",
                PoolInfo.from_config(a),
                PoolInfo.from_config(b),
                capital,
                capital_is_token0,
            )
        )
    return out


async def check_executor(rpc: Rpc, ex: ExecutionConfig) -> None:
    """The executor contract is deployed and owned by the bot."""
    code, owner = await rpc.batch(
        [
            ("eth_getCode", [ex.executor, "latest"]),
            ("eth_call", [{"to": ex.executor, "data": "0x" + _OWNER.hex()}, "latest"]),
        ]
    )
    if not code or code == "0x":
        raise EndpointMisconfigured(f"no contract at execution.executor {ex.executor}")
    if _address_of(owner) != ex.owner:
        raise EndpointMisconfigured(
            f"the executor {ex.executor} is owned by {_address_of(owner)}, "
            f"not execution.owner {ex.owner}"
        )
