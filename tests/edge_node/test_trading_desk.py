"""The trading desk's loop: whatever the endpoint does to a refresh, the stop flags are polled."""

from __future__ import annotations

import asyncio
import types
from pathlib import Path

import pytest

from edge_node import trading
from edge_node.control import TradingState
from edge_node.rpc.errors import EndpointMisconfigured
from edge_node.trading import TradingDesk
from shared import control_flags
from shared.config import ControlConfig
from tests.support.fake_trading import rig
from tests.support.waiting import eventually_async


async def test_a_refresh_that_fails_any_way_never_stops_the_flag_poller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = rig(tmp_path)
    await r.trader.reconcile(r.rpc)

    refreshes = 0

    async def refresh_refused(*_: object) -> bool:
        nonlocal refreshes
        refreshes += 1
        raise EndpointMisconfigured("node: HTTP 403")  # a WAF, a revoked key

    r.trader.refresh = refresh_refused  # type: ignore[method-assign,assignment]
    service = r.trader.control_service
    service.cfg = ControlConfig(poll_interval_s=0.1)
    monkeypatch.setattr(trading, "REFRESH_EVERY_S", 0.05)
    desk = types.SimpleNamespace(trader=r.trader, control_service=service)
    stop = asyncio.Event()
    task = asyncio.create_task(TradingDesk.run(desk, stop))  # type: ignore[arg-type]
    await eventually_async(lambda: refreshes >= 3, what="refreshes after a failed one")
    assert not task.done()
    control_flags.write_db_flag(r.engine, control_flags.EMERGENCY_STOP, True, "dba", "SQL")
    await eventually_async(lambda: service.control.state is TradingState.STOPPED, what="the stop")
    stop.set()
    await asyncio.wait_for(task, 10)
    await r.trader.close()


def test_the_nodes_ssm_client_is_the_shared_bounded_one() -> None:
    node = types.SimpleNamespace(
        control=ControlConfig(ssm_parameter="/edge/stop", aws_region="ap-southeast-1")
    )
    client = TradingDesk._ssm_client(node)  # type: ignore[arg-type]
    assert client is not None
    assert client.meta.config.connect_timeout == control_flags.SSM_TIMEOUT_S
    assert client.meta.config.read_timeout == control_flags.SSM_TIMEOUT_S
    assert client.meta.config.retries["total_max_attempts"] == control_flags.SSM_MAX_ATTEMPTS + 1
    no_flag = types.SimpleNamespace(control=ControlConfig())
    assert TradingDesk._ssm_client(no_flag) is None  # type: ignore[arg-type]
