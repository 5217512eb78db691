"""The demo market: prices as specified, V2 token ordering, funded traders."""

from __future__ import annotations

import pytest
from web3 import Web3

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import (
    DEFAULT_DEMO_MARKET,
    MAX_UINT256,
    DeployedMarket,
    PairSpec,
    Trader,
    contract_at,
    deploy_market,
    pair_price,
)


def test_default_demo_market_spec() -> None:
    by_name = {p.label: p for p in DEFAULT_DEMO_MARKET}
    assert set(by_name) == {"WBNB-USDT", "CAKE-WBNB", "BTCB-USDT", "ETH-USDC"}
    assert by_name["WBNB-USDT"].price == 600
    assert by_name["CAKE-WBNB"].price == 0.004
    assert by_name["BTCB-USDT"].price == 90_000
    eth = by_name["ETH-USDC"]
    assert (eth.price, eth.base_decimals, eth.quote_decimals, eth.fee_bps) == (3000, 18, 6, 30)
    assert all(p.fee_bps == 25 for p in DEFAULT_DEMO_MARKET if p.label != "ETH-USDC")


def test_pair_spec_validation() -> None:
    with pytest.raises(ValueError, match="itself"):
        PairSpec("A", "A", 18, 18, price=1, base_liquidity=1)
    with pytest.raises(ValueError, match="fee_bps"):
        PairSpec("A", "B", 18, 18, price=1, base_liquidity=1, fee_bps=1000)
    with pytest.raises(ValueError, match="positive"):
        PairSpec("A", "B", 18, 18, price=0, base_liquidity=1)


def test_raw_amounts_are_exact_for_decimal_prices() -> None:
    spec = PairSpec("CAKE", "WBNB", 18, 18, price=0.004, base_liquidity=1_000_000)
    assert spec.raw_amounts() == (10**24, 4 * 10**21)
    spec = PairSpec("ETH", "USDC", 18, 6, price=3000.5, base_liquidity=2.5)
    assert spec.raw_amounts() == (25 * 10**17, 7_501_250_000)


@pytest.mark.chain
def test_deployed_pairs_sit_at_the_spec_price(
    anvil: Anvil, w3: Web3, market: DeployedMarket
) -> None:
    assert [p.name for p in market.pairs] == [s.label for s in DEFAULT_DEMO_MARKET]
    for spec, pair in zip(DEFAULT_DEMO_MARKET, market.pairs, strict=True):
        assert int(pair.token0, 16) < int(pair.token1, 16)
        assert {pair.symbol0, pair.symbol1} == {spec.base, spec.quote}
        contract = contract_at(w3, "PairV2", pair.address)
        assert contract.functions.token0().call() == pair.token0
        assert contract.functions.token1().call() == pair.token1
        assert contract.functions.feeBps().call() == spec.fee_bps == pair.fee_bps
        price = float(pair_price(w3, pair))
        assert price == pytest.approx(spec.price, rel=1e-9)
        assert market.start_block <= pair.deploy_block <= market.end_block


@pytest.mark.chain
def test_deployed_tokens_have_the_spec_decimals(w3: Web3, market: DeployedMarket) -> None:
    assert set(market.tokens) == {"WBNB", "USDT", "CAKE", "BTCB", "ETH", "USDC"}
    for symbol, token in market.tokens.items():
        erc20 = contract_at(w3, "TestToken", token.address)
        assert erc20.functions.symbol().call() == symbol
        assert erc20.functions.decimals().call() == token.decimals
    assert market.tokens["USDC"].decimals == 6
    for pair in market.pairs:
        assert pair.decimals0 == market.tokens[pair.symbol0].decimals
        assert pair.decimals1 == market.tokens[pair.symbol1].decimals


@pytest.mark.chain
def test_custom_market_shares_tokens_by_symbol(clean_chain: Anvil, w3: Web3) -> None:
    spec = [
        PairSpec("AAA", "QQQ", 8, 12, price=12.5, base_liquidity=400, fee_bps=30),
        PairSpec("BBB", "QQQ", 18, 12, price=0.25, base_liquidity=10_000, fee_bps=5, name="B/Q"),
    ]
    custom = deploy_market(clean_chain, spec)
    assert set(custom.tokens) == {"AAA", "BBB", "QQQ"}
    assert [p.name for p in custom.pairs] == ["AAA-QQQ", "B/Q"]
    assert custom.pair("B/Q").fee_bps == 5
    for s, pair in zip(spec, custom.pairs, strict=True):
        assert float(pair_price(w3, pair)) == pytest.approx(s.price, rel=1e-9)


def test_inconsistent_decimals_for_one_symbol_are_rejected() -> None:
    spec = [
        PairSpec("AAA", "QQQ", 18, 6, price=1, base_liquidity=1),
        PairSpec("BBB", "QQQ", 18, 18, price=1, base_liquidity=1),
    ]
    with pytest.raises(ValueError, match="QQQ"):
        deploy_market(Anvil(), spec)  # rejected before the chain is needed


@pytest.mark.chain
def test_traders_are_funded_and_approved(
    anvil: Anvil, w3: Web3, market: DeployedMarket, traders: list[Trader]
) -> None:
    assert [t.index for t in traders] == [1, 2, 3]  # conftest.TRADER_ACCOUNTS
    for trader in traders:
        assert trader.address == anvil.addresses[trader.index]
        for token in market.tokens.values():
            erc20 = contract_at(w3, "TestToken", token.address)
            assert erc20.functions.allowance(trader.address, market.router).call() == MAX_UINT256
            assert erc20.functions.balanceOf(trader.address).call() > 0
    wbnb = contract_at(w3, "TestToken", market.tokens["WBNB"].address)
    wbnb_in_pools = sum(
        wbnb.functions.balanceOf(p.address).call()
        for p in market.pairs
        if "WBNB" in (p.symbol0, p.symbol1)
    )
    assert wbnb.functions.balanceOf(traders[0].address).call() >= 10 * wbnb_in_pools
