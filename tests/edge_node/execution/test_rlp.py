"""Our RLP encoder against pyrlp (the reference implementation): the same bytes for any item,
at every length boundary; negative integers and non-bytes refused."""

from __future__ import annotations

import pytest
import rlp as pyrlp  # type: ignore[import-untyped]
from hypothesis import example, given, settings
from hypothesis import strategies as st

from edge_node.execution import rlp

rlp_items = st.recursive(
    st.one_of(
        st.binary(max_size=80),
        st.integers(0, 2**300),
        st.sampled_from([0, 127, 128, 255, 256, b"\x00", b"\x7f", b"\x80", bytes(55), bytes(56)]),
    ),
    lambda children: st.lists(children, max_size=8),
    max_leaves=60,
)


@settings(max_examples=500, deadline=None)
@given(item=rlp_items)
def test_rlp_matches_pyrlp(item):
    assert rlp.encode(item) == pyrlp.encode(item)


@settings(max_examples=300, deadline=None)
@given(n=st.one_of(st.integers(0, 2**16), st.integers(0, 2**1000)))
def test_encode_uint_matches_pyrlp(n):
    assert rlp.encode_uint(n) == pyrlp.encode(n)


@pytest.mark.parametrize("length", [0, 1, 55, 56, 255, 256, 65_535, 65_536, 1_000_000])
def test_long_strings_and_lists(length):
    blob = b"\x81" * length
    assert rlp.encode(blob) == pyrlp.encode(blob)
    assert rlp.encode([blob, [blob]]) == pyrlp.encode([blob, [blob]])
    payload = rlp.encode(blob)
    assert rlp.list_header(len(payload)) + payload == pyrlp.encode([blob])


def test_tuples_encode_like_lists():
    assert rlp.encode((1, b"ab", (2, []))) == rlp.encode([1, b"ab", [2, []]])
    assert rlp.encode(bytearray(b"abc")) == pyrlp.encode(b"abc")


def test_rlp_rejects():
    with pytest.raises(ValueError, match="negative"):
        rlp.encode(-1)
    with pytest.raises(ValueError, match="negative"):
        rlp.encode_uint(-(2**70))
    with pytest.raises(ValueError, match="negative"):
        rlp.encode([1, [2, -3]])
    with pytest.raises(TypeError, match="bool"):
        rlp.encode(True)
    with pytest.raises(TypeError, match="str"):
        rlp.encode("abc")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="NoneType"):
        rlp.encode([None])  # type: ignore[list-item]


@example(b"")
@given(data=st.binary(max_size=200))
def test_encode_bytes_matches_pyrlp(data):
    assert rlp.encode_bytes(data) == pyrlp.encode(data)
