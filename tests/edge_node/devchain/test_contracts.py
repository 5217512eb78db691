"""PairV2 and TrafficRouter on a real anvil: V2-identical events and the exact fee maths."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import ContractLogicError

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.market import (
    MAX_UINT256,
    DeployedMarket,
    DeployedPair,
    Trader,
    artifact,
    contract_at,
    read_reserves,
)
from edge_node.devchain.traffic import do_swap
from edge_node.devchain.v2math import get_amount_out
from tests.edge_node.devchain.events import (
    BURN_TOPIC,
    MINT_TOPIC,
    SWAP_TOPIC,
    SYNC_TOPIC,
    TRANSFER_TOPIC,
    V2_EVENT_SIGNATURES,
    decode_data,
    logs_from,
    topic0,
    topic_address,
)

pytestmark = pytest.mark.chain

_GAS = 500_000  # explicit, so a failing call is mined as a revert instead of failing estimation


def _balance(w3: Web3, token: str, owner: str) -> int:
    return int(contract_at(w3, "TestToken", token).functions.balanceOf(owner).call())


def _signature(event: dict[str, object]) -> str:
    inputs = event["inputs"]
    assert isinstance(inputs, list)
    return f"{event['name']}({','.join(str(i['type']) for i in inputs)})"


def test_pair_abi_declares_v2_events_with_v2_indexing() -> None:
    events = {e["name"]: e for e in artifact("PairV2").abi if e["type"] == "event"}
    indexed = {
        name: [i["name"] for i in events[name]["inputs"] if i["indexed"]]
        for name in V2_EVENT_SIGNATURES
    }
    for name, signature in V2_EVENT_SIGNATURES.items():
        assert _signature(events[name]) == signature
    assert indexed == {
        "Swap": ["sender", "to"],
        "Sync": [],
        "Mint": ["sender"],
        "Burn": ["sender", "to"],
    }
    assert Web3.keccak(text=V2_EVENT_SIGNATURES["Swap"]).to_0x_hex() == SWAP_TOPIC
    assert Web3.keccak(text=V2_EVENT_SIGNATURES["Sync"]).to_0x_hex() == SYNC_TOPIC
    assert Web3.keccak(text=V2_EVENT_SIGNATURES["Mint"]).to_0x_hex() == MINT_TOPIC
    assert Web3.keccak(text=V2_EVENT_SIGNATURES["Burn"]).to_0x_hex() == BURN_TOPIC


@pytest.mark.parametrize(("pair_name", "token_in"), [("WBNB-USDT", "USDT"), ("ETH-USDC", "ETH")])
def test_router_swap_emits_sync_then_swap_with_decoded_amounts(
    clean_chain: Anvil,
    w3: Web3,
    market: DeployedMarket,
    traders: list[Trader],
    pair_name: str,
    token_in: str,
) -> None:
    pair = market.pair(pair_name)
    trader = traders[0].address
    r0, r1 = read_reserves(w3, pair.address)
    zero_for_one = market.tokens[token_in].address == pair.token0
    amount_in = (r0 if zero_for_one else r1) // 200
    reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
    expected_out = get_amount_out(amount_in, reserve_in, reserve_out, pair.fee_bps)

    receipt = do_swap(w3, market, pair, trader, token_in, amount_in)

    assert receipt["status"] == 1
    pair_logs = logs_from(receipt, pair.address)
    assert [topic0(log) for log in pair_logs] == [SYNC_TOPIC, SWAP_TOPIC]
    sync, swap = pair_logs
    assert swap["logIndex"] == sync["logIndex"] + 1
    assert topic_address(swap, 1) == market.router  # V2's sender is whoever called swap
    assert topic_address(swap, 2) == trader
    amounts = decode_data(swap, ["uint256"] * 4)
    if zero_for_one:
        assert amounts == (amount_in, 0, 0, expected_out)
        new_reserves = (r0 + amount_in, r1 - expected_out)
    else:
        assert amounts == (0, amount_in, expected_out, 0)
        new_reserves = (r0 - expected_out, r1 + amount_in)
    assert decode_data(sync, ["uint112", "uint112"]) == new_reserves
    assert read_reserves(w3, pair.address) == new_reserves


@pytest.mark.parametrize(("pair_name", "fee_bps"), [("WBNB-USDT", 25), ("ETH-USDC", 30)])
@pytest.mark.parametrize("zero_for_one", [True, False])
def test_pair_pays_exactly_the_closed_form_and_not_one_wei_more(
    clean_chain: Anvil,
    w3: Web3,
    market: DeployedMarket,
    traders: list[Trader],
    pair_name: str,
    fee_bps: int,
    zero_for_one: bool,
) -> None:
    pair = market.pair(pair_name)
    assert pair.fee_bps == fee_bps
    contract = contract_at(w3, "PairV2", pair.address)
    assert contract.functions.feeBps().call() == fee_bps
    trader = traders[0].address
    token_in, token_out = (pair.token0, pair.token1) if zero_for_one else (pair.token1, pair.token0)
    r0, r1 = read_reserves(w3, pair.address)
    reserve_in, reserve_out = (r0, r1) if zero_for_one else (r1, r0)
    amount_in = reserve_in // 37 + 12_345  # an awkward size, so rounding is exercised
    out = get_amount_out(amount_in, reserve_in, reserve_out, fee_bps)
    assert out == amount_in * (10_000 - fee_bps) * reserve_out // (
        reserve_in * 10_000 + amount_in * (10_000 - fee_bps)
    )

    contract_at(w3, "TestToken", token_in).functions.transfer(pair.address, amount_in).transact(
        {"from": trader}
    )

    def outs(amount: int) -> tuple[int, int]:
        return (0, amount) if zero_for_one else (amount, 0)

    greedy = contract.functions.swap(*outs(out + 1), trader, b"")
    with pytest.raises(ContractLogicError, match="PairV2: K"):
        greedy.call({"from": trader})
    tx = greedy.transact({"from": trader, "gas": _GAS})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 0

    before = _balance(w3, token_out, trader)
    tx = contract.functions.swap(*outs(out), trader, b"").transact({"from": trader, "gas": _GAS})
    assert w3.eth.wait_for_transaction_receipt(tx)["status"] == 1
    assert _balance(w3, token_out, trader) - before == out
    assert (
        contract_at(w3, "TrafficRouter", market.router)
        .functions.getAmountOut(amount_in, reserve_in, reserve_out, fee_bps)
        .call()
        == out
    )


def test_router_enforces_min_amount_out(
    clean_chain: Anvil, w3: Web3, market: DeployedMarket, traders: list[Trader]
) -> None:
    pair = market.pair("BTCB-USDT")
    r0, r1 = read_reserves(w3, pair.address)
    quote = get_amount_out(10**18, r0, r1, pair.fee_bps)
    with pytest.raises(ContractLogicError, match="INSUFFICIENT_OUTPUT_AMOUNT"):
        do_swap(w3, market, pair, traders[0].address, pair.token0, 10**18, min_amount_out=quote + 1)
    receipt = do_swap(w3, market, pair, traders[0].address, pair.token0, 10**18)
    assert receipt["status"] == 1


def test_flash_swap_data_is_rejected(
    clean_chain: Anvil, w3: Web3, market: DeployedMarket, traders: list[Trader]
) -> None:
    pair = market.pair("WBNB-USDT")
    swap = contract_at(w3, "PairV2", pair.address).functions.swap(0, 1, traders[0].address, b"x")
    with pytest.raises(ContractLogicError, match="FLASH_SWAPS_UNSUPPORTED"):
        swap.call({"from": traders[0].address})


def test_add_and_remove_liquidity_emit_mint_and_burn(
    clean_chain: Anvil, w3: Web3, market: DeployedMarket, traders: list[Trader]
) -> None:
    pair = market.pair("CAKE-WBNB")
    trader = traders[1].address
    router = contract_at(w3, "TrafficRouter", market.router)
    lp = contract_at(w3, "PairV2", pair.address)
    r0, r1 = read_reserves(w3, pair.address)
    amount0, amount1 = r0 // 10, r1 // 10
    supply = lp.functions.totalSupply().call()

    tx = router.functions.addLiquidity(pair.address, amount0, amount1, trader).transact(
        {"from": trader}
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    pair_logs = logs_from(receipt, pair.address)
    assert [topic0(log) for log in pair_logs] == [TRANSFER_TOPIC, SYNC_TOPIC, MINT_TOPIC]
    mint = pair_logs[-1]
    assert topic_address(mint, 1) == market.router
    assert decode_data(mint, ["uint256", "uint256"]) == (amount0, amount1)
    liquidity = lp.functions.balanceOf(trader).call()
    assert liquidity == min(amount0 * supply // r0, amount1 * supply // r1) > 0

    lp.functions.approve(market.router, MAX_UINT256).transact({"from": trader})
    recipient = traders[2].address
    supply = lp.functions.totalSupply().call()
    b0, b1 = read_reserves(w3, pair.address)
    tx = router.functions.removeLiquidity(pair.address, liquidity, recipient).transact(
        {"from": trader}
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    pair_logs = logs_from(receipt, pair.address)
    # LP moved to the pair, LP burnt, then Sync and Burn, as in V2.
    assert [topic0(log) for log in pair_logs] == [
        TRANSFER_TOPIC,
        TRANSFER_TOPIC,
        SYNC_TOPIC,
        BURN_TOPIC,
    ]
    burn = pair_logs[-1]
    assert topic_address(burn, 1) == market.router
    assert topic_address(burn, 2) == recipient
    assert decode_data(burn, ["uint256", "uint256"]) == (
        liquidity * b0 // supply,
        liquidity * b1 // supply,
    )
    assert lp.functions.balanceOf(trader).call() == 0


def test_first_mint_locks_minimum_liquidity(market: DeployedMarket, w3: Web3) -> None:
    lp = contract_at(w3, "PairV2", market.pair("WBNB-USDT").address)
    assert lp.functions.MINIMUM_LIQUIDITY().call() == 1000
    assert lp.functions.balanceOf("0x" + "00" * 20).call() == 1000


def _assert_reserves_match_balances(w3: Web3, pair: DeployedPair) -> None:
    r0, r1 = read_reserves(w3, pair.address)
    assert (r0, r1) == (
        _balance(w3, pair.token0, pair.address),
        _balance(w3, pair.token1, pair.address),
    )


def test_reserves_track_balances_and_skim_sync(
    clean_chain: Anvil, w3: Web3, market: DeployedMarket, traders: list[Trader]
) -> None:
    trader = traders[0].address
    for i, pair in enumerate(market.pairs):
        for token, reserve in zip(
            (pair.token0, pair.token1), read_reserves(w3, pair.address), strict=True
        ):
            do_swap(w3, market, pair, trader, token, reserve // 500 * (i + 1))
        _assert_reserves_match_balances(w3, pair)

    pair = market.pair("WBNB-USDT")
    contract = contract_at(w3, "PairV2", pair.address)
    # Each transaction's receipt is awaited: a balance read must not race the block it is in.
    w3.eth.wait_for_transaction_receipt(
        contract_at(w3, "TestToken", pair.token0)
        .functions.transfer(pair.address, 777)
        .transact({"from": trader})
    )
    before = _balance(w3, pair.token0, traders[2].address)
    w3.eth.wait_for_transaction_receipt(
        contract.functions.skim(traders[2].address).transact({"from": trader})
    )
    assert _balance(w3, pair.token0, traders[2].address) - before == 777
    _assert_reserves_match_balances(w3, pair)

    w3.eth.wait_for_transaction_receipt(
        contract_at(w3, "TestToken", pair.token1)
        .functions.transfer(pair.address, 999)
        .transact({"from": trader})
    )
    r0, r1 = read_reserves(w3, pair.address)
    tx = contract.functions.sync().transact({"from": trader})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    (sync,) = logs_from(receipt, pair.address)
    assert decode_data(sync, ["uint112", "uint112"]) == (r0, r1 + 999)
    _assert_reserves_match_balances(w3, pair)


@pytest.mark.parametrize(
    ("fee_bps", "sorted_tokens", "reason"),
    [(0, True, "BAD_FEE"), (1000, True, "BAD_FEE"), (25, False, "UNSORTED_TOKENS")],
)
def test_pair_constructor_rejects_bad_arguments(
    clean_chain: Anvil,
    w3: Web3,
    market: DeployedMarket,
    fee_bps: int,
    sorted_tokens: bool,
    reason: str,
) -> None:
    a, b = sorted(
        (market.tokens["WBNB"].address, market.tokens["USDT"].address), key=lambda x: int(x, 16)
    )
    if not sorted_tokens:
        a, b = b, a
    art = artifact("PairV2")
    factory = w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    with pytest.raises(ContractLogicError, match=reason):
        factory.constructor(a, b, fee_bps).transact({"from": market.deployer})
