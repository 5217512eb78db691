"""The compiled and the pure-Python log decoders agree on every input; and fuzzing: whatever
arrives, only MalformedLog escapes."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edge_node.chain import decode
from edge_node.chain.decode import MalformedLog, decode_log_json
from edge_node.chain.events import SwapV2Event
from tests.edge_node.chain import logs as L
from tests.edge_node.chain.strategies import U256, json_values

decode_log = decode_log_json


# --- the compiled and the pure-Python decoders agree -------------------------------------------


def _both(log: dict[str, Any]) -> tuple[Any, Any]:
    """(compiled result, python result); a MalformedLog is returned as the class."""
    out: list[Any] = []
    for compiled in (True, False):
        decode.use_compiled(compiled)
        try:
            out.append(decode_log(copy.deepcopy(log)))
        except MalformedLog:
            out.append(MalformedLog)
    return out[0], out[1]


@settings(max_examples=400)
@given(U256, U256, U256, U256, st.integers(0, 2**40), st.integers(0, 5000))
def test_compiled_and_python_agree_on_valid_swaps(
    a: int, b: int, c: int, d: int, block: int, index: int
) -> None:
    compiled, python = _both(L.v2_swap(a, b, c, d, block=block, index=index))
    assert compiled == python
    assert isinstance(compiled, SwapV2Event)


def _near(limit: int) -> st.SearchStrategy[int]:
    """Values around a bound, and anywhere up to far past it."""
    return st.one_of(
        st.integers(limit - 3, limit + 3),
        st.integers(0, 2 * limit),
        st.sampled_from([limit * 16 - 1, limit * 16, 2**256 - 1]),
    )


@settings(max_examples=600)
@given(st.booleans(), _near(2**63), _near(2**31), st.integers(0, 3))
def test_compiled_and_python_agree_on_the_position_bounds(
    swap: bool, block: int, index: int, zeros: int
) -> None:
    log = L.v2_swap(1, 2, 3, 4) if swap else L.v2_sync(5, 6)
    log["blockNumber"] = "0x" + "0" * zeros + f"{block:x}"
    log["logIndex"] = "0x" + "0" * zeros + f"{index:x}"
    compiled, python = _both(log)
    assert compiled == python
    fits = block < 2**63 and index < 2**31 and len(log["logIndex"]) <= 10
    fits = fits and len(log["blockNumber"]) <= 66
    assert (compiled is not MalformedLog) == fits


@settings(max_examples=400)
@given(st.integers(0, 2**112 - 1), st.integers(0, 2**112 - 1))
def test_compiled_and_python_agree_on_valid_syncs(r0: int, r1: int) -> None:
    compiled, python = _both(L.v2_sync(r0, r1))
    assert compiled == python


@settings(max_examples=2000)
@given(
    st.sampled_from([L.v2_swap(1, 2, 3, 4), L.v2_sync(5, 6)]),
    st.sampled_from(["data", "blockNumber", "logIndex", "topics"]),
    st.integers(0, 300),
    st.text(alphabet="0123456789abcdefABCDEFxg _-\u0663\n", max_size=3),
)
def test_compiled_and_python_refuse_the_same_corruptions(
    base: dict[str, Any], field: str, pos: int, junk: str
) -> None:
    log = copy.deepcopy(base)
    if field == "topics":
        t = log["topics"][-1]
        log["topics"][-1] = t[:pos] + junk + t[pos + len(junk) :]
    else:
        v = log[field]
        log[field] = v[:pos] + junk + v[pos + len(junk) :]
    compiled, python = _both(log)
    assert compiled == python


# --- fuzzing: whatever arrives, only MalformedLog escapes ---------------------------------------

FIELDS = [
    "address",
    "topics",
    "data",
    "blockNumber",
    "transactionHash",
    "blockHash",
    "logIndex",
    "removed",
]


def _valid_logs() -> list[dict[str, Any]]:
    return [
        L.v2_swap(1, 2, 3, 4),
        L.v2_sync(5, 6),
        L.v2_mint(1, 1),
        L.v2_burn(1, 1),
        L.v3_swap(-5, 7, 2**96, 10**18, -100),
        L.v3_swap(5, -7, 2**96, 10**18, 100, pancake=True),
    ]


def _assert_contract(log: Any) -> None:
    with contextlib.suppress(MalformedLog):
        decode_log(log)


@settings(max_examples=1500)
@given(st.sampled_from(_valid_logs()), st.sampled_from(FIELDS), json_values)
def test_fuzz_replacing_a_field(base: dict[str, Any], field: str, value: Any) -> None:
    log = copy.deepcopy(base)
    log[field] = value
    _assert_contract(log)


@settings(max_examples=1500)
@given(
    st.sampled_from(_valid_logs()),
    st.sampled_from(["data", "blockHash", "transactionHash", "blockNumber", "logIndex", "address"]),
    st.integers(0, 300),
    st.text(max_size=3),
)
def test_fuzz_corrupting_characters(base: dict[str, Any], field: str, pos: int, junk: str) -> None:
    log = copy.deepcopy(base)
    s = log[field]
    log[field] = s[:pos] + junk + s[pos + len(junk) :]
    _assert_contract(log)


@settings(max_examples=800)
@given(st.sampled_from(_valid_logs()), st.integers(0, 3), json_values)
def test_fuzz_topics(base: dict[str, Any], i: int, value: Any) -> None:
    log = copy.deepcopy(base)
    if i < len(log["topics"]):
        log["topics"][i] = value
    else:
        log["topics"].append(value)
    _assert_contract(log)


@settings(max_examples=500)
@given(json_values)
def test_fuzz_anything(value: Any) -> None:
    _assert_contract(value)
