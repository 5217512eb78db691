from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.node import Chain, start_chain


@pytest.fixture
def chain() -> Iterator[Chain]:
    """A fresh anvil with the demo market, mining every 0.5 s."""
    c = start_chain(block_time=0.5)
    try:
        yield c
    finally:
        c.anvil.stop()
