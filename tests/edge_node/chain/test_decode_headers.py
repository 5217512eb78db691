"""Block headers as nodes send them (BSC's long extraData included), and malformed ones refused
as MalformedHeader."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.chain.decode import MalformedHeader, parse_header
from tests.edge_node.chain.strategies import json_values

# A header as a BSC node returns it. BSC's extraData carries the validators' BLS/ECDSA data and a
# 65-byte seal, hundreds of bytes; web3.py refuses such blocks without its POA middleware.
BSC_HEADER: dict[str, Any] = {
    "baseFeePerGas": "0x0",
    "blobGasUsed": "0x0",
    "difficulty": "0x2",
    "excessBlobGas": "0x0",
    "extraData": "0xd88301050a846765746888676f312e32332e36856c696e7578000000"
    + "1ae8bd6b" * 120
    + "00" * 65,
    "gasLimit": "0x2160ec0",
    "gasUsed": "0xa2d5f9",
    "hash": "0x5b2b2e9de4f7b4e2a8c0d37a1a55d34c0f0a2b8e1b4b7d6f3e2c1d0a9b8c7d6e",
    "logsBloom": "0x" + "00" * 256,
    "miner": "0x9f1b7fae54be07f4fee34eb1aacb39a1f7b6fc92",
    "mixHash": "0x" + "00" * 32,
    "nonce": "0x0000000000000000",
    "number": "0x3a2c5f1",
    "parentBeaconBlockRoot": "0x" + "00" * 32,
    "parentHash": "0x8f4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",
    "receiptsRoot": "0x" + "12" * 32,
    "sha3Uncles": "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347",
    "size": "0x4d2a",
    "stateRoot": "0x" + "34" * 32,
    "timestamp": "0x68a1b2c3",
    "transactionsRoot": "0x" + "56" * 32,
    "withdrawalsRoot": "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421",
}


def test_bsc_header_with_long_extra_data_parses() -> None:
    assert len(BSC_HEADER["extraData"]) > 2 + 64
    h = parse_header(BSC_HEADER)
    assert h.number == 0x3A2C5F1
    assert h.timestamp == 0x68A1B2C3
    assert h.hash == BSC_HEADER["hash"]
    assert h.parent_hash == BSC_HEADER["parentHash"]


def test_web3_needs_its_poa_middleware_for_the_same_header() -> None:
    # Why our own parsing matters: web3's default validation rejects BSC's extraData.
    from web3.exceptions import ExtraDataLengthError
    from web3.middleware.validation import _check_extradata_length

    with pytest.raises(ExtraDataLengthError):
        _check_extradata_length(BSC_HEADER["extraData"])


@pytest.mark.parametrize(
    "mutate",
    [
        lambda h: h.pop("hash"),
        lambda h: h.__setitem__("hash", "0x12"),
        lambda h: h.__setitem__("number", 5),
        lambda h: h.__setitem__("timestamp", "soon"),
        lambda h: h.__setitem__("parentHash", None),
    ],
)
def test_malformed_headers(mutate: Any) -> None:
    h = dict(BSC_HEADER)
    mutate(h)
    with pytest.raises(MalformedHeader):
        parse_header(h)


@pytest.mark.parametrize("field", ["number", "timestamp"])
def test_header_numbers_past_the_stores_bigint_are_refused(field: str) -> None:
    h = dict(BSC_HEADER)
    h[field] = hex(2**63 - 1)
    assert getattr(parse_header(h), field) == 2**63 - 1
    for value in (hex(2**63), "0x" + "f" * 64):
        h[field] = value
        with pytest.raises(MalformedHeader, match="out of range"):
            parse_header(h)


@settings(max_examples=500)
@given(st.sampled_from(["number", "hash", "parentHash", "timestamp"]), json_values)
def test_fuzz_headers(field: str, value: Any) -> None:
    h = dict(BSC_HEADER)
    h[field] = value
    with contextlib.suppress(MalformedHeader):
        parse_header(h)
