"""Hypothesis strategies the decoder tests share: 256-bit integers, and any JSON value a
broken or hostile node could send."""

from __future__ import annotations

from hypothesis import strategies as st

U256 = st.integers(min_value=0, max_value=2**256 - 1)
I256 = st.integers(min_value=-(2**255), max_value=2**255 - 1)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=80),
    st.text(alphabet="0123456789abcdefABCDEFx _-\u0663", max_size=300),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
