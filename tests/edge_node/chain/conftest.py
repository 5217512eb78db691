"""Every decoder test runs against both the compiled and the pure-Python V2 decoders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edge_node.chain import decode


@pytest.fixture(autouse=True, params=["compiled", "python"])
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every decoder test runs against both the compiled and the pure-Python V2 decoders."""
    if request.param == "compiled" and not decode.ACCELERATED:
        pytest.fail("compiled decoders not built: run ./scripts/setup")
    decode.use_compiled(request.param == "compiled")
    yield request.param
    decode.use_compiled(True)
