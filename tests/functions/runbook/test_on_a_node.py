"""The runbooks acting on a real node (paper trading on anvil): a pause through its API, a pause
through the SSM flag with its API unreachable, and an emergency stop through every surface,
confirmed from its /health; AWS is the moto server the node polls its flag on."""

from __future__ import annotations

import asyncio

import boto3
import pytest
from sqlalchemy import select

from edge_node.control import TradingState
from edge_node.service import EdgeNode
from functions.common.aws import AwsClients, AwsOptions
from functions.runbook import runner
from functions.runbook.context import Context
from functions.runbook.settings import RunbookSettings
from functions.runbook.trigger import by_person
from shared.db import schema
from shared.node_api import NodeApi
from tests.support.node import TOKEN
from tests.support.trading import ArbChain, running_arb_chain, trading
from tests.support.waiting import WITHIN_S, eventually_async

pytestmark = [pytest.mark.chain, pytest.mark.slow]
PARAMETER = "/edge/test/runbook-stop"


chain = pytest.fixture(running_arb_chain, name="chain")


def _context(moto: str, store_url: str, node_url: str) -> Context:
    settings = RunbookSettings(
        node_url=node_url,
        stop_parameter=PARAMETER,
        poll_s=0.1,
        confirm_within_s=WITHIN_S,  # the node is in this process, on a loaded machine
        incidents_to="s3://edge-node-incidents/incidents",
    )
    aws = AwsClients(AwsOptions(region="us-east-1", endpoint_url=moto))
    aws.s3.create_bucket(Bucket="edge-node-incidents")
    from functions.common.store import Store

    return Context(
        settings,
        aws,
        "runbook:test",
        NodeApi(node_url, TOKEN, timeout_s=WITHIN_S),
        Store.from_url(store_url),
    )


@pytest.mark.parametrize("api_up", [True, False])
async def test_pause_on_a_node(
    chain: ArbChain, sqlite_url: str, moto_endpoint: str, api_up: bool
) -> None:
    cfg = chain.config(
        sqlite_url, {"control": {"ssm_parameter": PARAMETER, "aws_region": "us-east-1"}}
    )
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name=PARAMETER, Value="false", Type="String", Overwrite=True)
    node = EdgeNode(cfg, ssm_client=ssm)
    async with trading(node):
        assert node.api is not None and node.desk is not None
        url = f"http://127.0.0.1:{node.api.port}" if api_up else "http://127.0.0.1:9"
        ctx = _context(moto_endpoint, sqlite_url, url)
        trigger = by_person(None, "test: price stale", "2026-12-01T00:00:00+00:00")
        result = await asyncio.to_thread(runner.run, "pause-trading", trigger, ctx)
        assert result.ok, result
        desk = node.desk
        await eventually_async(
            lambda: desk.control.state is TradingState.PAUSED, WITHIN_S, "the pause"
        )
        # API down: both flags ask for the pause; the node applies whichever it reads first
        # (the SSM flag alone pausing a node: tests/edge_node/test_control.py)
        expected = {"api:runbook:test"} if api_up else {"remote flag", "database flag"}
        assert node.desk.control.actor in expected
        value = ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"]
        assert value == ("false" if api_up else "pause")
        with node.engine.connect() as conn:
            actions = {r.action for r in conn.execute(select(schema.audit_log.c.action))}
        assert "runbook:pause-trading" in actions and "trading_paused:set" in actions
        assert ctx.store is not None
        ctx.store.dispose()


async def test_emergency_stop_on_a_node_confirmed_from_health(
    chain: ArbChain, sqlite_url: str, moto_endpoint: str
) -> None:
    cfg = chain.config(
        sqlite_url, {"control": {"ssm_parameter": PARAMETER, "aws_region": "us-east-1"}}
    )
    ssm = boto3.client("ssm", region_name="us-east-1", endpoint_url=moto_endpoint)
    ssm.put_parameter(Name=PARAMETER, Value="false", Type="String", Overwrite=True)
    node = EdgeNode(cfg, ssm_client=ssm)
    async with trading(node):
        assert node.api is not None and node.desk is not None
        ctx = _context(moto_endpoint, sqlite_url, f"http://127.0.0.1:{node.api.port}")
        trigger = by_person(None, "test: paper-trading violation", "2026-12-01T00:00:00+00:00")
        result = await asyncio.to_thread(runner.run, "emergency-stop", trigger, ctx)
        assert result.ok and not result.escalated, result
        assert result.facts["surfaces"] == {"api": True, "database": True, "ssm": True}
        assert result.facts["confirmed_after_s"] >= 0
        assert node.desk.control.state is TradingState.STOPPED
        assert ssm.get_parameter(Name=PARAMETER)["Parameter"]["Value"] == "true"
        with node.engine.connect() as conn:
            actions = {r.action for r in conn.execute(select(schema.audit_log.c.action))}
        assert {"runbook:emergency-stop", "emergency_stop:set"} <= actions
        assert ctx.store is not None
        ctx.store.dispose()
