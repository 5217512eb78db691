"""The ingest tests' chain: a fresh anvil with the demo market, mining every 0.5 s."""

from __future__ import annotations

import pytest

from tests.support.node import running_chain

chain = pytest.fixture(running_chain, name="chain")
