from __future__ import annotations

import random

from edge_node.rpc.backoff import Backoff


def test_capped_exponential_with_jitter() -> None:
    b = Backoff(initial=0.5, maximum=10.0, rng=random.Random(3))
    caps = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    for cap in caps:
        d = b.next_delay()
        assert cap / 2 <= d <= cap
    b.reset()
    assert b.next_delay() <= 0.5


def test_jitter_spreads_clients() -> None:
    delays = {round(Backoff(rng=random.Random(seed)).next_delay(), 6) for seed in range(20)}
    assert len(delays) > 15
