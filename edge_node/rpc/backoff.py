"""Reconnect timing as a pure value: capped exponential backoff with jitter.

Jitter spreads reconnects of many clients after a shared outage; the lower half of each delay
is kept so a flapping endpoint is never hammered. The connect loop resets the backoff after a
connection that stayed good for a while (see ``edge_node.ingest.listener``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    initial: float = 0.25
    maximum: float = 30.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def next_delay(self) -> float:
        cap = min(self.maximum, self.initial * self.factor**self.attempt)
        self.attempt += 1
        return self.rng.uniform(cap / 2, cap)

    def reset(self) -> None:
        self.attempt = 0
