"""Chain fixtures: one anvil and one demo market per test module, rolled back after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import (
    DEFAULT_DEMO_MARKET,
    DeployedMarket,
    Trader,
    deploy_market,
    prepare_traders,
    web3_for,
)

TRADER_ACCOUNTS = (1, 2, 3)


@pytest.fixture(scope="module")
def anvil() -> Iterator[Anvil]:
    with Anvil() as chain:
        yield chain


@pytest.fixture(scope="module")
def w3(anvil: Anvil) -> Web3:
    return web3_for(anvil)


@pytest.fixture(scope="module")
def market(anvil: Anvil) -> DeployedMarket:
    return deploy_market(anvil, DEFAULT_DEMO_MARKET)


@pytest.fixture(scope="module")
def traders(anvil: Anvil, market: DeployedMarket) -> list[Trader]:
    return prepare_traders(anvil, market, TRADER_ACCOUNTS)


@pytest.fixture
def clean_chain(anvil: Anvil, market: DeployedMarket, traders: list[Trader]) -> Iterator[Anvil]:
    """The module's market with funded traders, reverted afterwards so tests cannot leak state."""
    snapshot = anvil.snapshot()
    yield anvil
    assert anvil.revert(snapshot)
