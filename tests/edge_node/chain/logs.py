"""Builders of JSON-RPC logs as nodes send them, encoded with eth_abi (web3's encoder), so the
decoder is checked against an independent implementation of the ABI."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode

from edge_node.chain import abi

BLOCK_HASH = "0x" + "ab" * 32
TX_HASH = "0x" + "cd" * 32
POOL = "0x" + "11" * 20
ALICE = "0x" + "22" * 20
BOB = "0x" + "33" * 20


def addr_topic(a: str) -> str:
    return "0x" + "0" * 24 + a[2:].lower()


def make_log(
    topics: list[str],
    data: bytes,
    *,
    address: str = POOL,
    block: int = 100,
    block_hash: str = BLOCK_HASH,
    index: int = 0,
    removed: bool = False,
) -> dict[str, Any]:
    return {
        "address": address,
        "topics": topics,
        "data": "0x" + data.hex(),
        "blockNumber": hex(block),
        "transactionHash": TX_HASH,
        "transactionIndex": "0x0",
        "blockHash": block_hash,
        "logIndex": hex(index),
        "removed": removed,
    }


def v2_swap(a0in: int, a1in: int, a0out: int, a1out: int, **kw: Any) -> dict[str, Any]:
    data = encode(["uint256"] * 4, [a0in, a1in, a0out, a1out])
    return make_log([abi.V2_SWAP, addr_topic(ALICE), addr_topic(BOB)], data, **kw)


def v2_sync(r0: int, r1: int, **kw: Any) -> dict[str, Any]:
    return make_log([abi.V2_SYNC], encode(["uint112", "uint112"], [r0, r1]), **kw)


def v2_mint(a0: int, a1: int, **kw: Any) -> dict[str, Any]:
    return make_log([abi.V2_MINT, addr_topic(ALICE)], encode(["uint256"] * 2, [a0, a1]), **kw)


def v2_burn(a0: int, a1: int, **kw: Any) -> dict[str, Any]:
    return make_log(
        [abi.V2_BURN, addr_topic(ALICE), addr_topic(BOB)], encode(["uint256"] * 2, [a0, a1]), **kw
    )


def v3_swap(
    a0: int, a1: int, sqrt_price: int, liquidity: int, tick: int, pancake: bool = False, **kw: Any
) -> dict[str, Any]:
    types = ["int256", "int256", "uint160", "uint128", "int24"]
    values: list[int] = [a0, a1, sqrt_price, liquidity, tick]
    topic = abi.V3_SWAP
    if pancake:
        types += ["uint128", "uint128"]
        values += [7, 9]
        topic = abi.PANCAKE_V3_SWAP
    return make_log([topic, addr_topic(ALICE), addr_topic(BOB)], encode(types, values), **kw)
