"""V2 event topics and decoding for the tests: written out by hand, not derived from our ABI,
so the tests catch any drift of PairV2 away from what real V2 pairs emit."""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode
from web3 import Web3

SWAP_TOPIC = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
SYNC_TOPIC = "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1"
MINT_TOPIC = "0x4c209b5fc8ad50758f13e2e1088ba56a560dff690a1c6fef26394f4c03821c4f"
BURN_TOPIC = "0xdccd412f0b1252819cb1fd330b93224ca42612892bb3f4f789976e6d81936496"
TRANSFER_TOPIC = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()

V2_EVENT_SIGNATURES = {
    "Swap": "Swap(address,uint256,uint256,uint256,uint256,address)",
    "Sync": "Sync(uint112,uint112)",
    "Mint": "Mint(address,uint256,uint256)",
    "Burn": "Burn(address,uint256,uint256,address)",
}


def topic0(log: Any) -> str:
    return str(log["topics"][0].to_0x_hex())


def topic_address(log: Any, index: int) -> str:
    return Web3.to_checksum_address(bytes(log["topics"][index])[-20:])


def logs_from(receipt: Any, address: str) -> list[Any]:
    return [log for log in receipt["logs"] if log["address"] == address]


def decode_data(log: Any, types: list[str]) -> tuple[Any, ...]:
    return tuple(decode(types, bytes(log["data"])))
