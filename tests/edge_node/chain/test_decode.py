"""Decoding logs: every event we follow against eth_abi and web3, foreign events ignored, and
malformed logs refused as MalformedLog. (Compiled against Python, and fuzzing:
test_decode_fuzz.py; headers: test_decode_headers.py.)"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from web3 import Web3

from edge_node.chain import abi
from edge_node.chain.decode import MalformedLog, decode_log_json
from edge_node.chain.events import LiquidityEvent, SwapV2Event, SwapV3Event, SyncEvent
from edge_node.chain.keccak import event_topic
from tests.edge_node.chain import logs as L
from tests.edge_node.chain.strategies import I256, U256

decode_log = decode_log_json


def test_topics_are_the_keccak_of_the_signatures_web3_computes() -> None:
    for sig in (
        abi.V2_SWAP_SIGNATURE,
        abi.V2_SYNC_SIGNATURE,
        abi.V2_MINT_SIGNATURE,
        abi.V2_BURN_SIGNATURE,
        abi.V3_SWAP_SIGNATURE,
        abi.PANCAKE_V3_SWAP_SIGNATURE,
    ):
        assert event_topic(sig) == "0x" + Web3.keccak(text=sig).hex().removeprefix("0x")
    # The well-known V2 topics, as every explorer shows them.
    assert abi.V2_SWAP == "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
    assert abi.V2_SYNC == "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"


@given(U256, U256, U256, U256)
def test_v2_swap_round_trips_through_eth_abi(a: int, b: int, c: int, d: int) -> None:
    ev = decode_log(L.v2_swap(a, b, c, d, index=7, block=12345))
    assert isinstance(ev, SwapV2Event)
    assert (ev.amount0_in, ev.amount1_in, ev.amount0_out, ev.amount1_out) == (a, b, c, d)
    assert (ev.pool, ev.sender, ev.recipient) == (L.POOL, L.ALICE, L.BOB)
    assert (ev.block_number, ev.log_index, ev.block_hash, ev.tx_hash) == (
        12345,
        7,
        L.BLOCK_HASH,
        L.TX_HASH,
    )
    assert ev.removed is False


@given(st.integers(0, 2**112 - 1), st.integers(0, 2**112 - 1))
def test_v2_sync(r0: int, r1: int) -> None:
    ev = decode_log(L.v2_sync(r0, r1))
    assert isinstance(ev, SyncEvent)
    assert (ev.reserve0, ev.reserve1) == (r0, r1)


@given(
    I256,
    I256,
    st.integers(0, 2**160 - 1),
    st.integers(0, 2**128 - 1),
    st.integers(-(2**23), 2**23 - 1),
    st.booleans(),
)
def test_v3_swap_both_layouts(
    a0: int, a1: int, sp: int, liq: int, tick: int, pancake: bool
) -> None:
    ev = decode_log(L.v3_swap(a0, a1, sp, liq, tick, pancake=pancake))
    assert isinstance(ev, SwapV3Event)
    assert (ev.amount0, ev.amount1, ev.sqrt_price_x96, ev.liquidity, ev.tick) == (
        a0,
        a1,
        sp,
        liq,
        tick,
    )


def test_mint_and_burn() -> None:
    mint = decode_log(L.v2_mint(5, 6))
    burn = decode_log(L.v2_burn(7, 8))
    assert isinstance(mint, LiquidityEvent)
    assert isinstance(burn, LiquidityEvent)
    assert (mint.kind, mint.amount0, mint.amount1, mint.sender) == ("mint", 5, 6, L.ALICE)
    assert (burn.kind, burn.amount0, burn.amount1) == ("burn", 7, 8)


def test_decoding_agrees_with_web3_process_log() -> None:
    swap_abi = {
        "anonymous": False,
        "name": "Swap",
        "type": "event",
        "inputs": [
            {"indexed": True, "name": "sender", "type": "address"},
            {"indexed": False, "name": "amount0In", "type": "uint256"},
            {"indexed": False, "name": "amount1In", "type": "uint256"},
            {"indexed": False, "name": "amount0Out", "type": "uint256"},
            {"indexed": False, "name": "amount1Out", "type": "uint256"},
            {"indexed": True, "name": "to", "type": "address"},
        ],
    }
    from web3._utils.method_formatters import log_entry_formatter

    contract = Web3().eth.contract(address=Web3.to_checksum_address(L.POOL), abi=[swap_abi])
    raw = L.v2_swap(10**18, 0, 0, 599 * 10**18, index=3)
    theirs = contract.events.Swap().process_log(log_entry_formatter(raw))
    ours = decode_log(raw)
    assert isinstance(ours, SwapV2Event)
    assert theirs["args"]["amount0In"] == ours.amount0_in
    assert theirs["args"]["amount1Out"] == ours.amount1_out
    assert theirs["args"]["sender"].lower() == ours.sender
    assert theirs["args"]["to"].lower() == ours.recipient
    assert theirs["logIndex"] == ours.log_index


def test_foreign_events_are_ignored_not_errors() -> None:
    transfer = L.make_log(
        [
            event_topic("Transfer(address,address,uint256)"),
            L.addr_topic(L.ALICE),
            L.addr_topic(L.BOB),
        ],
        (5).to_bytes(32, "big"),
    )
    assert decode_log(transfer) is None


def test_upper_case_hex_from_a_node_is_accepted_and_normalised() -> None:
    raw = L.v2_swap(1, 2, 3, 4)
    raw = {k: (v.upper().replace("0X", "0x") if isinstance(v, str) else v) for k, v in raw.items()}
    raw["topics"] = [t.upper().replace("0X", "0x") for t in raw["topics"]]
    ev = decode_log(raw)
    assert isinstance(ev, SwapV2Event)
    # Keys (pool, block hash) are lower-cased here; stored identifiers by the store writer.
    assert ev.pool == L.POOL
    assert ev.block_hash == L.BLOCK_HASH
    assert ev.sender == L.ALICE
    assert (ev.amount0_in, ev.amount1_out) == (1, 4)


def test_identifier_digits_are_left_to_where_they_are_used() -> None:
    # A pool address must match a configured pool, a block hash the header's, and the store
    # writer validates what it stores; the decoder checks their type and length only.
    raw = L.v2_swap(1, 2, 3, 4)
    raw["transactionHash"] = "0x" + "zz" * 32
    ev = decode_log(raw)
    assert ev is not None
    assert ev.tx_hash == raw["transactionHash"]


def test_removed_flag_is_carried() -> None:
    ev = decode_log(L.v2_sync(1, 2, removed=True))
    assert ev is not None
    assert ev.removed is True


BAD_CASES: list[tuple[str, Any]] = [
    ("data one byte short", lambda g: g.__setitem__("data", g["data"][:-2])),
    ("data with a non-hex digit", lambda g: g.__setitem__("data", g["data"][:-1] + "g")),
    (
        "data with whitespace",
        lambda g: g.__setitem__("data", g["data"][:10] + " " + g["data"][11:]),
    ),
    (
        "data with underscore",
        lambda g: g.__setitem__("data", g["data"][:10] + "_" + g["data"][11:]),
    ),
    ("data not a string", lambda g: g.__setitem__("data", 5)),
    ("data without 0x", lambda g: g.__setitem__("data", "00" + g["data"][2:])),
    ("missing topic", lambda g: g["topics"].pop()),
    ("extra topic", lambda g: g["topics"].append(L.addr_topic(L.BOB))),
    ("topics not a list", lambda g: g.__setitem__("topics", "0x")),
    ("empty topics", lambda g: g.__setitem__("topics", [])),
    ("address topic not padded", lambda g: g["topics"].__setitem__(1, "0x" + "ff" * 32)),
    ("topic0 not a string", lambda g: g["topics"].__setitem__(0, None)),
    ("short block hash", lambda g: g.__setitem__("blockHash", "0x1234")),
    ("pending log (null blockHash)", lambda g: g.__setitem__("blockHash", None)),
    ("negative block number", lambda g: g.__setitem__("blockNumber", "-0x1")),
    ("block number with underscore", lambda g: g.__setitem__("blockNumber", "0x1_0")),
    ("block number in decimal", lambda g: g.__setitem__("blockNumber", "100")),
    ("unicode digit in log index", lambda g: g.__setitem__("logIndex", "0x\u0663")),
    ("removed is a string", lambda g: g.__setitem__("removed", "false")),
    # Past the store's columns: int32 log_index, bigint block_number.
    ("log index 2^31", lambda g: g.__setitem__("logIndex", "0x80000000")),
    ("log index 2^32 - 1", lambda g: g.__setitem__("logIndex", "0xffffffff")),
    ("block number 2^63", lambda g: g.__setitem__("blockNumber", hex(2**63))),
    ("block number 2^64", lambda g: g.__setitem__("blockNumber", hex(2**64))),
    ("block number 2^256 - 1", lambda g: g.__setitem__("blockNumber", hex(2**256 - 1))),
    ("missing address", lambda g: g.pop("address")),
    ("address too long", lambda g: g.__setitem__("address", g["address"] + "00")),
    ("sync reserve above uint112", None),
]


@pytest.mark.parametrize(("name", "mutate"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_malformed_logs_raise_malformed_log(name: str, mutate: Any) -> None:
    if mutate is None:
        raw = L.v2_sync(1, 2)
        raw["data"] = "0x" + (2**112).to_bytes(32, "big").hex() + (1).to_bytes(32, "big").hex()
    else:
        raw = L.v2_swap(1, 2, 3, 4)
        mutate(raw)
    with pytest.raises(MalformedLog):
        decode_log(raw)


OUT_OF_RANGE: list[tuple[str, str]] = [
    ("logIndex", "0x80000000"),
    ("blockNumber", hex(2**63)),
    ("blockNumber", "0x" + "f" * 64),
]


EVERY_EVENT: list[dict[str, Any]] = [
    L.v2_swap(1, 2, 3, 4),
    L.v2_sync(5, 6),
    L.v2_mint(1, 1),
    L.v2_burn(1, 1),
    L.v3_swap(-5, 7, 2**96, 10**18, -100),
    L.v3_swap(5, -7, 2**96, 10**18, 100, pancake=True),
]


@pytest.mark.parametrize("base", EVERY_EVENT, ids=["v2swap", "sync", "mint", "burn", "v3", "pcs"])
@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_every_decoder_refuses_positions_the_store_cannot_hold(
    base: dict[str, Any], field: str, value: str
) -> None:
    raw = copy.deepcopy(base)
    raw[field] = value
    with pytest.raises(MalformedLog, match="out of range"):
        decode_log(raw)


def test_the_largest_positions_the_store_can_hold_are_accepted() -> None:
    for raw in (
        L.v2_swap(1, 2, 3, 4, block=2**63 - 1, index=2**31 - 1),
        L.v2_sync(5, 6, block=2**63 - 1, index=2**31 - 1),
        L.v3_swap(5, -7, 2**96, 10**18, 100, block=2**63 - 1, index=2**31 - 1),
    ):
        raw["blockNumber"] = "0x" + raw["blockNumber"][2:].zfill(64)  # leading zeros are fine
        ev = decode_log(raw)
        assert ev is not None
        assert (ev.block_number, ev.log_index) == (2**63 - 1, 2**31 - 1)


@pytest.mark.parametrize("bad", [None, 5, "x", [], {}, {"topics": None}, {"topics": [5]}])
def test_not_even_a_log(bad: Any) -> None:
    with pytest.raises(MalformedLog):
        decode_log(bad)
