"""What the trader asks of a strategy: pool updates in, intended trades out. No I/O.

Everything a strategy needs of the world comes in as arguments: the pool that changed, a
function giving any pool's freshest reserves, the gas price and the capital available. What it
returns are intents (``intents.Intent``); the risk gate, the signer and the rest of the
pipeline are the trader's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from edge_node.strategy.intents import Intent

# (reserve0, reserve1, block, log index) of a pool, as fresh as the caller has it
Reserves = Callable[[str], tuple[int, int, int, int]]


class Strategy(Protocol):
    name: str

    @property
    def gas_limit(self) -> int:
        """Gas limit of the transactions it asks for (part of the signing template)."""
        ...

    @property
    def capital_token(self) -> str:
        """Address of the token its trades start and end in (the executor's balance)."""
        ...

    def on_update(
        self, pool: str, reserves: Reserves, gas_price: int, capital_available: int
    ) -> list[Intent]:
        """Intents after ``pool`` changed; at most one per pair of pools."""
        ...

    def pair_of(self, pools: tuple[str, str]) -> str | None:
        """The name of the pair two pools (of a journaled trade) belong to, if any."""
        ...
