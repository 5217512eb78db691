"""ArbExecutor on a real anvil: exact profits, atomic reverts, ownership, simulation by eth_call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_abi.abi import decode
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt, Wei

from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, deploy_arbitrage, executor_contract
from edge_node.devchain.market import (
    DeployedPair,
    Trader,
    contract_at,
    prepare_traders,
    read_reserves,
)
from edge_node.devchain.traffic import do_swap

pytestmark = pytest.mark.chain

_GAS = 1_000_000  # explicit, so a failing call is mined as a revert instead of failing estimation
WBNB = 10**18


@pytest.fixture(scope="module")
def setup(anvil: Anvil) -> ArbSetup:
    return deploy_arbitrage(anvil)


@pytest.fixture(scope="module")
def trader(anvil: Anvil, setup: ArbSetup) -> Trader:
    (only,) = prepare_traders(anvil, setup.market, [1])
    return only


@pytest.fixture
def clean(anvil: Anvil, setup: ArbSetup, trader: Trader) -> Iterator[Anvil]:
    snapshot = anvil.snapshot()
    yield anvil
    assert anvil.revert(snapshot)


@pytest.fixture(scope="module")
def executor(w3: Web3, setup: ArbSetup) -> Contract:
    return executor_contract(w3, setup.executor)


# ----- expectations, computed independently of the contract -----


def amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int) -> int:
    with_fee = amount_in * (10_000 - fee_bps)
    return with_fee * reserve_out // (reserve_in * 10_000 + with_fee)


def in_out_reserves(w3: Web3, pair: DeployedPair, token_in: str) -> tuple[int, int]:
    r0, r1 = read_reserves(w3, pair.address)
    return (r0, r1) if token_in == pair.token0 else (r1, r0)


def other_token(pair: DeployedPair, token: str) -> str:
    return pair.token1 if token == pair.token0 else pair.token0


def expected_round_trip(
    w3: Web3, pair_buy: DeployedPair, pair_sell: DeployedPair, token_in: str, amount_in: int
) -> tuple[int, int]:
    """(middle amount, amount back) of the two legs at the current reserves."""
    middle = amount_out(amount_in, *in_out_reserves(w3, pair_buy, token_in), pair_buy.fee_bps)
    back_reserves = in_out_reserves(w3, pair_sell, other_token(pair_sell, token_in))
    return middle, amount_out(middle, *back_reserves, pair_sell.fee_bps)


# ----- helpers -----


def balance(w3: Web3, token: str, owner: str) -> int:
    return int(contract_at(w3, "TestToken", token).functions.balanceOf(owner).call())


def selector(signature: str) -> bytes:
    return bytes(Web3.keccak(text=signature)[:4])


def revert_data(call: Any, sender: str) -> bytes:
    """The raw revert data of an eth_call that must fail."""
    with pytest.raises(ContractLogicError) as excinfo:
        call.call({"from": sender})
    data = excinfo.value.data
    assert isinstance(data, str), data
    return bytes.fromhex(data.removeprefix("0x"))


def send(w3: Web3, call: Any, sender: str, **tx: Any) -> TxReceipt:
    tx_hash = call.transact({"from": sender, "gas": _GAS, **tx})
    receipt: TxReceipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.02)
    return receipt


def skew(w3: Web3, setup: ArbSetup, trader: Trader, amount: int = 30 * WBNB) -> None:
    """Dumps WBNB into the deep 25 bps pool, making WBNB cheaper there than in the 30 bps one."""
    deep, _ = setup.arb_pairs
    receipt = do_swap(w3, setup.market, deep, trader.address, "WBNB", amount)
    assert receipt["status"] == 1


def state(w3: Web3, setup: ArbSetup) -> tuple[Any, ...]:
    wbnb, usdt = setup.market.token("WBNB").address, setup.market.token("USDT").address
    deep, shallow = setup.arb_pairs
    return (
        read_reserves(w3, deep.address),
        read_reserves(w3, shallow.address),
        balance(w3, wbnb, setup.executor),
        balance(w3, usdt, setup.executor),
        balance(w3, wbnb, deep.address),
        balance(w3, usdt, deep.address),
        balance(w3, wbnb, shallow.address),
        balance(w3, usdt, shallow.address),
    )


def execute_call(
    executor: Contract,
    pair_buy: DeployedPair,
    pair_sell: DeployedPair,
    token_in: str,
    amount_in: int,
    min_profit: int,
    *,
    fee_buy: int | None = None,
    fee_sell: int | None = None,
) -> Any:
    return executor.functions.execute(
        pair_buy.address,
        pair_buy.fee_bps if fee_buy is None else fee_buy,
        pair_sell.address,
        pair_sell.fee_bps if fee_sell is None else fee_sell,
        token_in,
        amount_in,
        min_profit,
    )


# ----- tests -----


def test_owner_is_the_bot(executor: Contract, setup: ArbSetup) -> None:
    assert executor.functions.owner().call() == setup.bot.address


def test_execute_makes_the_closed_form_profit_and_moves_both_pools(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    wbnb = setup.capital_address
    usdt = other_token(deep, wbnb)
    # WBNB is now dear in the shallow pool: sell it there, buy it back in the deep one.
    pair_buy, pair_sell = shallow, deep
    amount_in = 3 * WBNB
    buy_in, buy_out = in_out_reserves(w3, pair_buy, wbnb)
    sell_in, sell_out = in_out_reserves(w3, pair_sell, usdt)
    middle, back = expected_round_trip(w3, pair_buy, pair_sell, wbnb, amount_in)
    profit = back - amount_in
    assert profit > 0
    capital_before = balance(w3, wbnb, setup.executor)

    receipt = send(
        w3, execute_call(executor, pair_buy, pair_sell, wbnb, amount_in, profit), setup.bot.address
    )

    assert receipt["status"] == 1
    assert balance(w3, wbnb, setup.executor) == capital_before + profit
    assert balance(w3, usdt, setup.executor) == 0
    assert in_out_reserves(w3, pair_buy, wbnb) == (buy_in + amount_in, buy_out - middle)
    assert in_out_reserves(w3, pair_sell, usdt) == (sell_in + middle, sell_out - back)
    # The pairs' Transfer/Sync/Swap logs come first; the executor's event closes the trade.
    last = receipt["logs"][-1]
    assert [log["address"] for log in receipt["logs"]].count(setup.executor) == 1
    event = executor.events.Arbitrage().process_log(last)
    assert event["address"] == setup.executor
    assert dict(event["args"]) == {
        "pairBuy": pair_buy.address,
        "pairSell": pair_sell.address,
        "tokenIn": wbnb,
        "amountIn": amount_in,
        "profit": profit,
    }
    # About 114k: a guard against the hot path silently growing (e.g. an extra transfer).
    assert receipt["gasUsed"] < 130_000


def test_execute_from_the_other_token_side(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    # With USDT as the input the legs run in the opposite token direction in both pairs.
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    usdt = setup.market.token("USDT").address
    mint = contract_at(w3, "TestToken", usdt).functions.mint(setup.executor, 10_000 * WBNB)
    assert send(w3, mint, trader.address)["status"] == 1
    amount_in = 1_000 * WBNB
    before = balance(w3, usdt, setup.executor)
    _, back = expected_round_trip(w3, deep, shallow, usdt, amount_in)
    assert back > amount_in

    receipt = send(w3, execute_call(executor, deep, shallow, usdt, amount_in, 0), setup.bot.address)

    assert receipt["status"] == 1
    assert balance(w3, usdt, setup.executor) == before + back - amount_in


def test_profit_below_minimum_reverts_and_changes_nothing(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    wbnb = setup.capital_address
    amount_in = 3 * WBNB
    _, back = expected_round_trip(w3, shallow, deep, wbnb, amount_in)
    profit = back - amount_in
    call = execute_call(executor, shallow, deep, wbnb, amount_in, profit + 1)
    before = state(w3, setup)

    data = revert_data(call, setup.bot.address)
    assert data == selector("ProfitBelowMinimum(uint256,uint256)") + bytes(
        Web3.to_bytes(profit).rjust(32, b"\0") + Web3.to_bytes(profit + 1).rjust(32, b"\0")
    )
    receipt = send(w3, call, setup.bot.address)

    assert receipt["status"] == 0
    assert receipt["logs"] == []
    assert state(w3, setup) == before


def test_a_losing_round_trip_reports_zero_profit(
    clean: Anvil, w3: Web3, setup: ArbSetup, executor: Contract
) -> None:
    # Without a gap, the fees make every round trip a loss.
    deep, shallow = setup.arb_pairs
    call = execute_call(executor, deep, shallow, setup.capital_address, WBNB, 0)
    data = revert_data(call, setup.bot.address)
    assert data[:4] == selector("ProfitBelowMinimum(uint256,uint256)")
    assert decode(["uint256", "uint256"], data[4:]) == (0, 0)
    # However large the minimum, the answer is the named error, not an overflow panic.
    call = execute_call(executor, deep, shallow, setup.capital_address, WBNB, 2**256 - 1)
    data = revert_data(call, setup.bot.address)
    assert data[:4] == selector("ProfitBelowMinimum(uint256,uint256)")
    assert decode(["uint256", "uint256"], data[4:]) == (0, 2**256 - 1)


def test_eth_call_simulates_the_profit_without_changing_state(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    wbnb = setup.capital_address
    amount_in = 3 * WBNB
    _, back = expected_round_trip(w3, shallow, deep, wbnb, amount_in)
    before = state(w3, setup)
    block = w3.eth.block_number
    nonce = w3.eth.get_transaction_count(setup.bot.address)

    simulated = execute_call(executor, shallow, deep, wbnb, amount_in, 0).call(
        {"from": setup.bot.address}
    )

    assert simulated == back - amount_in
    assert state(w3, setup) == before
    assert w3.eth.block_number == block
    assert w3.eth.get_transaction_count(setup.bot.address) == nonce


def test_only_the_owner_may_execute(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    call = execute_call(executor, shallow, deep, setup.capital_address, 3 * WBNB, 0)
    before = state(w3, setup)

    assert revert_data(call, trader.address) == selector("NotOwner()")
    assert send(w3, call, trader.address)["status"] == 0
    assert state(w3, setup) == before


def test_wrong_fee_makes_the_pair_revert(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    skew(w3, setup, trader)
    deep, shallow = setup.arb_pairs
    # Claiming 25 bps for the 30 bps pool asks it for more than its K check allows.
    call = execute_call(executor, shallow, deep, setup.capital_address, 3 * WBNB, 0, fee_buy=25)
    with pytest.raises(ContractLogicError, match="PairV2: K"):
        call.call({"from": setup.bot.address})


def test_pairs_of_different_tokens_are_rejected(
    w3: Web3, setup: ArbSetup, executor: Contract
) -> None:
    deep, _ = setup.arb_pairs
    other = setup.market.pair("CAKE-WBNB")  # shares WBNB, but not USDT
    call = execute_call(executor, deep, other, setup.capital_address, WBNB, 0)
    data = revert_data(call, setup.bot.address)
    assert data[:4] == selector("PairTokensMismatch(address,address)")
    assert decode(["address", "address"], data[4:]) == (deep.address.lower(), other.address.lower())


def test_bad_arguments_are_rejected(w3: Web3, setup: ArbSetup, executor: Contract) -> None:
    deep, shallow = setup.arb_pairs
    wbnb = setup.capital_address
    cake = setup.market.token("CAKE").address
    bot = setup.bot.address

    same = revert_data(execute_call(executor, deep, deep, wbnb, WBNB, 0), bot)
    assert same[:4] == selector("SamePair(address)")
    foreign = revert_data(execute_call(executor, deep, shallow, cake, WBNB, 0), bot)
    assert foreign == selector("TokenNotInPair(address)") + bytes(12) + Web3.to_bytes(hexstr=cake)
    fee = revert_data(execute_call(executor, deep, shallow, wbnb, WBNB, 0, fee_sell=10_000), bot)
    assert fee == selector("InvalidFee(uint16)") + (10_000).to_bytes(32, "big")


def test_withdraw_is_owner_only(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    wbnb = setup.capital_address
    to = setup.market.deployer
    capital = balance(w3, wbnb, setup.executor)
    held = balance(w3, wbnb, to)

    assert revert_data(executor.functions.withdraw(wbnb, WBNB, to), trader.address) == selector(
        "NotOwner()"
    )
    assert send(w3, executor.functions.withdraw(wbnb, WBNB, to), trader.address)["status"] == 0
    assert balance(w3, wbnb, setup.executor) == capital

    receipt = send(w3, executor.functions.withdraw(wbnb, 2 * WBNB, to), setup.bot.address)
    assert receipt["status"] == 1
    assert balance(w3, wbnb, setup.executor) == capital - 2 * WBNB
    assert balance(w3, wbnb, to) == held + 2 * WBNB

    too_much = executor.functions.withdraw(wbnb, capital, to)
    assert revert_data(too_much, setup.bot.address) == selector("TransferFailed()")
    not_a_token = executor.functions.withdraw(to, 1, to)
    assert revert_data(not_a_token, setup.bot.address) == selector("TransferFailed()")


def test_withdraw_native_is_owner_only(
    clean: Anvil, w3: Web3, setup: ArbSetup, trader: Trader, executor: Contract
) -> None:
    to = Web3.to_checksum_address("0x" + "ab" * 20)
    deposit = w3.eth.send_transaction(
        {"from": trader.address, "to": setup.executor, "value": Wei(5 * WBNB)}
    )
    assert w3.eth.wait_for_transaction_receipt(deposit)["status"] == 1
    assert w3.eth.get_balance(setup.executor) == 5 * WBNB

    call = executor.functions.withdrawNative(2 * WBNB, to)
    assert revert_data(call, trader.address) == selector("NotOwner()")
    assert send(w3, call, trader.address)["status"] == 0
    assert w3.eth.get_balance(setup.executor) == 5 * WBNB

    assert send(w3, call, setup.bot.address)["status"] == 1
    assert w3.eth.get_balance(setup.executor) == 3 * WBNB
    assert w3.eth.get_balance(to) == 2 * WBNB
    # A recipient that refuses ether (a token has no receive function) fails the withdrawal.
    refused = executor.functions.withdrawNative(WBNB, setup.capital_address)
    assert revert_data(refused, setup.bot.address) == selector("NativeTransferFailed()")
