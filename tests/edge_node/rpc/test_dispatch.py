from __future__ import annotations

import json

import msgspec
import pytest

from edge_node.chain.wire import Envelope, RawLog
from edge_node.rpc.dispatch import Dispatcher
from edge_node.telemetry import Metrics
from tests.edge_node.chain import logs as L


def note(sub: str, result: object) -> str:
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "method": "eth_subscription",
            "params": {"subscription": sub, "result": result},
        }
    )


@pytest.fixture
def router() -> tuple[Dispatcher, list[object], Metrics]:
    got: list[object] = []
    metrics = Metrics()
    d = Dispatcher("t", metrics, got.append, got.append)
    d.log_subs["0xlogs"] = got.append
    d.subs["0xheads"] = lambda raw: got.append(json.loads(bytes(raw)))
    return d, got, metrics


def test_routes_logs_heads_answers_and_batches(
    router: tuple[Dispatcher, list[object], Metrics],
) -> None:
    d, got, metrics = router
    d.dispatch(note("0xlogs", L.v2_sync(1, 2)))
    d.dispatch(note("0xheads", {"number": "0x1"}))
    d.dispatch('{"jsonrpc":"2.0","id":7,"result":"0x5"}')
    d.dispatch('[{"jsonrpc":"2.0","id":8,"result":1},{"jsonrpc":"2.0","id":9,"result":2}]')
    assert isinstance(got[0], RawLog)
    assert got[1] == {"number": "0x1"}
    assert isinstance(got[2], Envelope) and got[2].id == 7
    assert isinstance(got[3], list) and len(got[3]) == 2
    assert dict(metrics.market_data_errors) == {}


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "",
        "5",
        '"a string"',
        '{"params": 5}',
        note("0xlogs", {"address": "0x12"}),
        note("0xlogs", None),
        '{"jsonrpc":"2.0","method":"eth_subscription","params":{"subscription":7}}',
        b"\xff\xfe",
    ],
)
def test_garbage_is_counted_and_dropped(
    router: tuple[Dispatcher, list[object], Metrics], raw: str | bytes
) -> None:
    d, got, metrics = router
    d.dispatch(raw)  # never raises
    assert not any(isinstance(x, RawLog) for x in got)
    assert sum(metrics.market_data_errors.values()) >= 1 or got == [] or raw == "5"


def test_a_failing_handler_is_contained(router: tuple[Dispatcher, list[object], Metrics]) -> None:
    d, _, metrics = router

    def boom(_: object) -> None:
        raise RuntimeError("handler bug")

    d.log_subs["0xlogs"] = boom
    d.dispatch(note("0xlogs", L.v2_sync(1, 2)))
    assert metrics.market_data_errors["rpc_message"] == 1


def test_unknown_subscriptions_are_ignored(
    router: tuple[Dispatcher, list[object], Metrics],
) -> None:
    d, got, metrics = router
    d.dispatch(note("0xother", L.v2_sync(1, 2)))
    d.dispatch(note("0xother", {"x": 1}))
    assert got == []
    assert dict(metrics.market_data_errors) == {}
    assert isinstance(msgspec.json.decode(note("0xother", 1)), dict)
