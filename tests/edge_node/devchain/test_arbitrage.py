"""The demo's arbitrage setup: two pools of one token pair and a funded, bot-owned executor."""

from __future__ import annotations

import pytest
from web3 import Web3

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import (
    ARB_PAIR_SPECS,
    ArbSetup,
    arb_calldata,
    bot_nonce,
    capital_balance,
    deploy_arbitrage,
    executor_contract,
)
from edge_node.devchain.market import DEFAULT_DEMO_MARKET, PairSpec, contract_at, pair_price


def test_arb_pair_specs_are_one_token_pair_with_two_fees() -> None:
    assert [s.label for s in ARB_PAIR_SPECS] == ["WBNB-USDT", "WBNB-USDT-30"]
    assert [s.fee_bps for s in ARB_PAIR_SPECS] == [25, 30]
    assert {(s.base, s.quote, s.base_decimals, s.quote_decimals) for s in ARB_PAIR_SPECS} == {
        ("WBNB", "USDT", 18, 18)
    }
    assert all(s.price == 600 for s in ARB_PAIR_SPECS)
    deep, shallow = ARB_PAIR_SPECS
    assert shallow.base_liquidity < deep.base_liquidity


def test_extra_pairs_clashing_with_an_arbitrage_pool_are_rejected() -> None:
    clash = PairSpec("WBNB", "USDT", 18, 18, price=600, base_liquidity=5, name="WBNB-USDT-30")
    with pytest.raises(ValueError, match="WBNB-USDT-30"):
        deploy_arbitrage(Anvil(), extra_pairs=[clash])  # rejected before the chain is needed


@pytest.fixture(scope="module")
def setup(anvil: Anvil) -> ArbSetup:
    return deploy_arbitrage(anvil)


@pytest.mark.chain
def test_two_pools_of_the_same_tokens_at_the_same_price(w3: Web3, setup: ArbSetup) -> None:
    deep, shallow = setup.arb_pairs
    assert (deep.name, shallow.name) == ("WBNB-USDT", "WBNB-USDT-30")
    assert deep.address != shallow.address
    assert (deep.token0, deep.token1) == (shallow.token0, shallow.token1)
    assert {deep.symbol0, deep.symbol1} == {"WBNB", "USDT"}
    for pair, fee in ((deep, 25), (shallow, 30)):
        contract = contract_at(w3, "PairV2", pair.address)
        assert (contract.functions.token0().call(), contract.functions.token1().call()) == (
            deep.token0,
            deep.token1,
        )
        assert contract.functions.feeBps().call() == fee == pair.fee_bps
        assert float(pair_price(w3, pair)) == pytest.approx(600, rel=1e-9)


@pytest.mark.chain
def test_the_demo_market_pairs_are_deployed_alongside(setup: ArbSetup) -> None:
    # The demo's own WBNB-USDT is the deep arbitrage pool, not a third WBNB-USDT pool.
    demo_names = [s.label for s in DEFAULT_DEMO_MARKET]
    assert [p.name for p in setup.market.pairs] == [
        "WBNB-USDT",
        "WBNB-USDT-30",
        *(n for n in demo_names if n != "WBNB-USDT"),
    ]


@pytest.mark.chain
def test_executor_is_owned_by_the_bot_and_funded(anvil: Anvil, w3: Web3, setup: ArbSetup) -> None:
    assert setup.bot.index == 9
    assert setup.bot.address == anvil.addresses[9]
    assert executor_contract(w3, setup.executor).functions.owner().call() == setup.bot.address
    assert setup.capital_token == "WBNB"
    assert setup.capital == 100 * 10**18
    assert capital_balance(anvil, setup) == setup.capital
    wbnb = contract_at(w3, "TestToken", setup.market.token("WBNB").address)
    assert wbnb.functions.balanceOf(setup.executor).call() == setup.capital
    # The executor deployment is the bot's only transaction: it never funds anything.
    assert bot_nonce(anvil, setup) == 1


@pytest.mark.chain
def test_arb_calldata_matches_web3_encoding(w3: Web3, setup: ArbSetup) -> None:
    deep, shallow = setup.arb_pairs
    executor = executor_contract(w3, setup.executor)
    for buy, sell, amount, min_profit in ((deep, shallow, 10**18, 0), (shallow, deep, 7, 2**255)):
        expected = executor.encode_abi(
            "execute",
            [
                buy.address,
                buy.fee_bps,
                sell.address,
                sell.fee_bps,
                setup.market.token("WBNB").address,
                amount,
                min_profit,
            ],
        )
        assert arb_calldata(setup, buy, sell, amount, min_profit) == Web3.to_bytes(hexstr=expected)


@pytest.mark.chain
def test_custom_capital_and_bot(anvil: Anvil, w3: Web3, setup: ArbSetup) -> None:
    snapshot = anvil.snapshot()
    try:
        custom = deploy_arbitrage(anvil, bot_index=4, capital=0.5, extra_pairs=())
        assert [p.name for p in custom.market.pairs] == ["WBNB-USDT", "WBNB-USDT-30"]
        assert custom.capital == 5 * 10**17 == capital_balance(anvil, custom)
        owner = executor_contract(w3, custom.executor).functions.owner().call()
        assert owner == anvil.addresses[4] == custom.bot.address
    finally:
        assert anvil.revert(snapshot)


def test_bad_capital_and_bot_index_are_rejected_before_the_chain_is_needed() -> None:
    with pytest.raises(ValueError, match="capital"):
        deploy_arbitrage(Anvil(), capital=0)
    with pytest.raises(ValueError, match="bot_index"):
        deploy_arbitrage(Anvil(), bot_index=-1)


@pytest.mark.chain
def test_a_bot_index_beyond_the_dev_accounts_is_rejected(anvil: Anvil, setup: ArbSetup) -> None:
    block = anvil.block_number()
    with pytest.raises(ValueError, match="no account 10"):
        deploy_arbitrage(anvil, bot_index=10)
    assert anvil.block_number() == block  # nothing was deployed
