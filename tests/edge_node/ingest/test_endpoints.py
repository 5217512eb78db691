from __future__ import annotations

import random

from edge_node.ingest.endpoints import MISCONFIGURED_COOLDOWN_S, EndpointSet
from shared.config import EndpointConfig


def endpoints(n: int = 3, max_lag: int = 5) -> EndpointSet:
    return EndpointSet(
        [EndpointConfig(name=f"e{i}", ws_url=f"ws://h{i}") for i in range(n)],
        "ws",
        backoff_initial_s=1.0,
        backoff_max_s=8.0,
        max_head_lag=max_lag,
        rng=random.Random(1),
    )


def test_priority_order_and_cooldown_after_failures() -> None:
    es = endpoints()
    first, second, _ = es.states
    assert es.choose(0) is first
    es.on_failure(first, 0, "refused", misconfigured=False)
    assert 0.5 <= first.cooldown_until <= 1.0  # jittered, at least half the delay
    assert es.choose(0) is second
    assert es.choose(1.0) is first  # cooled down: preferred again
    for _ in range(5):  # consecutive failures back off exponentially, capped
        es.on_failure(first, 0, "refused", misconfigured=False)
    assert 4.0 <= first.cooldown_until <= 8.0
    es.on_good_session(first)
    es.on_failure(first, 0, "refused", misconfigured=False)
    assert first.cooldown_until <= 1.0  # a good session resets the backoff


def test_misconfigured_endpoints_stay_out_long() -> None:
    es = endpoints()
    es.on_failure(es.states[0], 0, "wrong chain", misconfigured=True)
    assert es.states[0].cooldown_until == MISCONFIGURED_COOLDOWN_S
    assert es.states[0].last_error == "wrong chain"


def test_all_cooling_down() -> None:
    es = endpoints(2)
    for s in es.states:
        es.on_failure(s, 0, "down", misconfigured=False)
    assert es.choose(0) is None
    assert es.next_ready_at() == min(s.cooldown_until for s in es.states)


def test_failback_needs_two_good_probes() -> None:
    es = endpoints()
    first, second, _ = es.states
    es.on_failure(first, 0, "down", misconfigured=False)
    assert es.switch_target(second, 100) is None
    es.on_probe(first, 1000)
    assert es.switch_target(second, 100) is None  # one probe is not enough
    es.on_probe(first, 1001)
    assert es.switch_target(second, 100) is first
    es.on_probe(first, None)  # a failed probe resets the streak
    assert es.switch_target(second, 100) is None


def test_a_lagging_active_endpoint_is_left() -> None:
    es = endpoints(max_lag=5)
    first, second, third = es.states
    es.on_head(first, 100)
    es.on_probe(second, 120)
    es.on_probe(third, 119)
    assert es.lagging(first)
    assert es.switch_target(first, 0) is second
    assert es.choose(0) is second  # and it is not chosen again while it lags


def test_only_endpoints_with_the_needed_url() -> None:
    es = EndpointSet(
        [
            EndpointConfig(name="ws", ws_url="ws://a"),
            EndpointConfig(name="http", http_url="http://b"),
        ],
        "http",
    )
    assert [s.name for s in es.states] == ["http"]
