"""Deploying the demo's arbitrage setup: two pools of one token pair and an ArbExecutor.

The two WBNB-USDT pools differ in fee and depth, so random traffic pushes their prices apart
and a bot can close the gap with ``ArbExecutor.execute``. The executor holds the capital; the
bot's dev account owns it and only pays gas.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.contract import Contract

from edge_node.devchain.anvil import Anvil, DevAccount
from edge_node.devchain.market import (
    DEFAULT_DEMO_MARKET,
    DeployedMarket,
    DeployedPair,
    DeploymentError,
    PairSpec,
    artifact,
    contract_at,
    deploy_market,
    wait_all,
    web3_for,
)

CAPITAL_SYMBOL = "WBNB"
ARB_PAIR_SPECS: list[PairSpec] = [
    # Identical to the demo market's WBNB-USDT pair, so the demo keeps its deep 25 bps pool.
    PairSpec(
        "WBNB", "USDT", 18, 18, price=600.0, base_liquidity=1_000.0, fee_bps=25, name="WBNB-USDT"
    ),
    # Shallower. Traffic sizes swaps relative to each pool, so depth does not change how often
    # the prices part, only what closing a gap earns (it scales with depth): only gaps wider
    # than the round trip's 0.55% of fees pay at all, and then a few thousandths of a WBNB.
    PairSpec(
        "WBNB", "USDT", 18, 18, price=600.0, base_liquidity=250.0, fee_bps=30, name="WBNB-USDT-30"
    ),
]

_EXECUTE_SIGNATURE = "execute(address,uint16,address,uint16,address,uint256,uint256)"
_EXECUTE_SELECTOR = function_signature_to_4byte_selector(_EXECUTE_SIGNATURE)
_EXECUTE_TYPES = ["address", "uint16", "address", "uint16", "address", "uint256", "uint256"]


@dataclass(frozen=True)
class ArbSetup:
    market: DeployedMarket
    executor: ChecksumAddress
    bot: DevAccount
    """The anvil dev account that owns the executor and pays its gas."""
    capital_token: str
    """Symbol of the token the executor trades from and measures profit in."""
    capital: int
    """Raw amount of ``capital_token`` funded into the executor at deployment."""

    @property
    def arb_pairs(self) -> tuple[DeployedPair, DeployedPair]:
        """The two pools of ``ARB_PAIR_SPECS``, in that order."""
        first, second = (self.market.pair(spec.label) for spec in ARB_PAIR_SPECS)
        return first, second

    @property
    def capital_address(self) -> ChecksumAddress:
        return self.market.token(self.capital_token).address


def _market_spec(extra_pairs: Sequence[PairSpec]) -> list[PairSpec]:
    """ARB_PAIR_SPECS then the extra pairs; an extra pair equal to an arbitrage pool (as the
    default demo market's WBNB-USDT is) is that pool, and any other name clash is an error."""
    arb = {spec.label: spec for spec in ARB_PAIR_SPECS}
    spec = list(ARB_PAIR_SPECS)
    for extra in extra_pairs:
        same_name = arb.get(extra.label)
        if same_name is None:
            spec.append(extra)
        elif replace(same_name, name=None) != replace(extra, name=None):
            raise ValueError(
                f"extra pair {extra.label} clashes with the arbitrage pool of that name: "
                f"{extra} != {same_name}"
            )
    return spec


def _raw_capital(capital: float, decimals: int) -> int:
    # Through the decimal repr, as PairSpec.raw_amounts does, so 0.1 means exactly 10**17.
    raw: int = round(Fraction(repr(capital)) * 10**decimals)
    if raw <= 0:
        raise ValueError(f"capital must be positive, got {capital}")
    return raw


def deploy_arbitrage(
    anvil: Anvil,
    *,
    bot_index: int = 9,
    capital: float = 100.0,
    extra_pairs: Sequence[PairSpec] = DEFAULT_DEMO_MARKET,
) -> ArbSetup:
    """Deploys the market (ARB_PAIR_SPECS plus ``extra_pairs``), an ArbExecutor owned by dev
    account ``bot_index``, and mints ``capital`` whole WBNB into the executor."""
    # Everything that can be checked without the chain is, before any transaction is sent.
    if not capital > 0:
        raise ValueError(f"capital must be positive, got {capital}")
    if bot_index < 0:
        raise ValueError(f"bot_index must be a dev account index, got {bot_index}")
    spec = _market_spec(extra_pairs)
    accounts = anvil.accounts
    if bot_index >= len(accounts):
        raise ValueError(f"anvil has {len(accounts)} dev accounts, there is no account {bot_index}")
    bot = accounts[bot_index]
    market = deploy_market(anvil, spec)
    token = market.token(CAPITAL_SYMBOL)
    raw_capital = _raw_capital(capital, token.decimals)
    w3 = web3_for(anvil)

    art = artifact("ArbExecutor")
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    deploy_tx = factory.constructor().transact({"from": bot.address})
    (receipt,) = wait_all(w3, [deploy_tx], "deploying the arbitrage executor")
    created = receipt.get("contractAddress")
    if created is None:
        raise DeploymentError("the arbitrage executor deployment created no contract")
    executor = Web3.to_checksum_address(created)

    # Minted by the market's deployer, so the bot's nonce only carries the executor deployment.
    erc20 = contract_at(w3, "TestToken", token.address)
    mint_tx = erc20.functions.mint(executor, raw_capital).transact({"from": market.deployer})
    wait_all(w3, [mint_tx], "funding the arbitrage executor")
    return ArbSetup(
        market=market,
        executor=executor,
        bot=bot,
        capital_token=CAPITAL_SYMBOL,
        capital=raw_capital,
    )


def executor_contract(w3: Web3, address: str) -> Contract:
    return contract_at(w3, "ArbExecutor", address)


def capital_balance(anvil: Anvil, setup: ArbSetup) -> int:
    """The executor's current balance of the capital token, in raw units."""
    erc20 = contract_at(web3_for(anvil), "TestToken", setup.capital_address)
    return int(erc20.functions.balanceOf(setup.executor).call())


def bot_nonce(anvil: Anvil, setup: ArbSetup) -> int:
    """The bot's mined transaction count (the "latest" block, not the pending pool)."""
    return int(anvil.rpc("eth_getTransactionCount", [setup.bot.address, "latest"]), 16)


def arb_calldata(
    setup: ArbSetup,
    pair_buy: DeployedPair,
    pair_sell: DeployedPair,
    amount_in: int,
    min_profit: int,
) -> bytes:
    """Calldata of ``execute`` trading ``amount_in`` of the capital token through ``pair_buy``
    and back through ``pair_sell``, with each pair's own fee."""
    args = [
        pair_buy.address,
        pair_buy.fee_bps,
        pair_sell.address,
        pair_sell.fee_bps,
        setup.capital_address,
        amount_in,
        min_profit,
    ]
    return _EXECUTE_SELECTOR + encode(_EXECUTE_TYPES, args)
