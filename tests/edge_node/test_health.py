from __future__ import annotations

from edge_node.health import HealthInputs, evaluate


def inputs(**kw: object) -> HealthInputs:
    base: dict[str, object] = {
        "now": 1000.0,
        "last_block_time": 995,
        "max_block_age_s": 30.0,
        "connected": True,
        "store_failed": None,
        "store_retrying_since": None,
        "listener_fatal": None,
    }
    base.update(kw)
    return HealthInputs(**base)  # type: ignore[arg-type]


def test_healthy_from_progress() -> None:
    h = evaluate(inputs())
    assert h.ok
    assert h.block_age_s == 5.0


def test_alive_but_not_progressing_is_unhealthy() -> None:
    h = evaluate(inputs(last_block_time=900))
    assert not h.ok
    assert "100s old" in h.reasons[0]
    assert not evaluate(inputs(last_block_time=None)).ok


def test_a_short_disconnect_is_not_unhealthy() -> None:
    h = evaluate(inputs(connected=False))
    assert h.ok
    assert "no RPC endpoint connected" in h.reasons


def test_store_problems() -> None:
    assert evaluate(inputs(store_retrying_since=990.0)).ok  # a blip
    assert not evaluate(inputs(store_retrying_since=900.0)).ok  # an outage
    assert not evaluate(inputs(store_failed="IntegrityError")).ok


def test_fatal_conditions() -> None:
    assert not evaluate(inputs(listener_fatal="reorg too deep")).ok
    assert not evaluate(inputs(all_endpoints_refused="wrong chain")).ok
