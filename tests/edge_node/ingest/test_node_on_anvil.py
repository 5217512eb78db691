"""The listening loop against a real local chain (anvil), including the faults of real networks.

Every test ends with the same two checks: the set of swaps stored equals the set of Swap logs
eth_getLogs returns over the whole range, and every stored candle equals the aggregate of the
stored swaps of its bucket.
"""

from __future__ import annotations

import asyncio
import functools

import pytest

from edge_node.devchain.tcp_proxy import TcpProxy
from edge_node.service import EdgeNode
from tests.support.node import (
    Chain,
    assert_candles_match_swaps,
    assert_store_matches_chain,
    blocks_go_by,
    caught_up,
    running,
    start_chain,
)
from tests.support.waiting import WITHIN_S, eventually_async

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _mined_to(chain: Chain, number: int) -> bool:
    return chain.anvil.block_number() >= number


def _proxied(chain: Chain, proxy: TcpProxy, name: str) -> dict[str, str]:
    return {
        "name": name,
        "ws_url": f"ws://127.0.0.1:{proxy.port}",
        "http_url": f"http://127.0.0.1:{proxy.port}",
    }


def _final_checks(node: EdgeNode, chain: Chain) -> None:
    cid = node.cfg.chain.chain_id
    assert_store_matches_chain(node.engine, chain, cid)
    assert_candles_match_swaps(node.engine, cid, node.intervals())
    assert sum(node.metrics.market_data_errors.values()) == 0


async def test_follows_live_swaps_exactly(chain: Chain, db_url: str) -> None:
    node = EdgeNode(chain.config(db_url))
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=120).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        assert traffic.succeeded == 120
        await caught_up(node, chain.anvil)
        assert node.health().ok
        # The live path saw the logs as they came and the confirmation reused them.
        assert node.assembler.reused > 0
        assert node.book.counters.swaps == 120
    _final_checks(node, chain)


async def test_polling_mode_gives_the_same_result(chain: Chain, sqlite_url: str) -> None:
    node = EdgeNode(chain.config(sqlite_url, websocket=False))
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=80).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        assert node.metrics.websocket_connections == 0
    _final_checks(node, chain)


async def test_websocket_cut_several_times_mid_stream(chain: Chain, sqlite_url: str) -> None:
    port = chain.anvil.port
    with TcpProxy("127.0.0.1", port) as proxy:
        cfg = chain.config(sqlite_url, endpoints=[_proxied(chain, proxy, "proxied")])
        node = EdgeNode(cfg)
        async with running(node):
            traffic = chain.traffic(rate=40).start()
            for i in range(4):
                await blocks_go_by(node)  # mid-stream
                if i < 3:
                    proxy.cut()
                else:  # down while the chain moves on: the reconnect must backfill blocks
                    proxy.down()
                    after = await asyncio.to_thread(chain.anvil.block_number) + 2
                    await eventually_async(
                        functools.partial(_mined_to, chain, after),
                        WITHIN_S,
                        "two blocks mined while the endpoint is down",
                        in_thread=True,
                    )
                    proxy.up()
                await eventually_async(
                    lambda: node.metrics.websocket_connections == 1, WITHIN_S, "reconnect"
                )
            await blocks_go_by(node)
            await asyncio.to_thread(traffic.stop)
            await caught_up(node, chain.anvil)
            assert node.metrics.websocket_reconnects >= 4
            assert node.metrics.backfilled_blocks > 0
    _final_checks(node, chain)


async def test_first_endpoint_killed_fails_over_then_back(chain: Chain, sqlite_url: str) -> None:
    port = chain.anvil.port
    with TcpProxy("127.0.0.1", port) as first, TcpProxy("127.0.0.1", port) as second:
        cfg = chain.config(
            sqlite_url,
            endpoints=[_proxied(chain, first, "first"), _proxied(chain, second, "second")],
        )
        node = EdgeNode(cfg)
        async with running(node):
            await eventually_async(
                lambda: node.listener.status.active_endpoint == "first", WITHIN_S, "first"
            )
            traffic = chain.traffic(rate=40).start()
            await blocks_go_by(node)
            first.down()  # the preferred endpoint dies: no connection, no new ones
            await eventually_async(
                lambda: node.listener.status.active_endpoint == "second", WITHIN_S, "failover"
            )
            assert node.metrics.rpc_failovers >= 1
            await blocks_go_by(node)  # followed through the second a while
            first.up()  # it comes back: probes see it twice, the node fails back
            await eventually_async(
                lambda: node.listener.status.active_endpoint == "first", WITHIN_S, "failback"
            )
            await blocks_go_by(node)
            await asyncio.to_thread(traffic.stop)
            await caught_up(node, chain.anvil)
    _final_checks(node, chain)


async def test_a_stream_that_goes_silent_is_declared_dead(chain: Chain, sqlite_url: str) -> None:
    with TcpProxy("127.0.0.1", chain.anvil.port) as proxy:
        cfg = chain.config(sqlite_url, endpoints=[_proxied(chain, proxy, "proxied")])
        node = EdgeNode(cfg)
        async with running(node):
            traffic = chain.traffic(rate=30).start()
            await blocks_go_by(node)
            before = node.metrics.websocket_reconnects
            proxy.freeze()  # the socket stays open; no head, no log, no pong arrives
            await eventually_async(
                lambda: node.metrics.websocket_reconnects > before, WITHIN_S, "the stale stream"
            )
            await blocks_go_by(node)
            await asyncio.to_thread(traffic.stop)
            await caught_up(node, chain.anvil)
            report = node.listener.endpoint_report()[0]
            assert "no new head" in str(report["last_error"])
    _final_checks(node, chain)


async def test_reorg_rolls_back_and_follows_the_new_branch(chain: Chain, db_url: str) -> None:
    node = EdgeNode(chain.config(db_url))
    async with running(node):
        traffic = chain.traffic(rate=40, max_swaps=60).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        swaps_before = node.book.counters.swaps
        # Replace the last 3 blocks with blocks holding other swaps (anvil_reorg re-mines).
        replacement = [(chain.swap_tx(i), i % 3) for i in range(6)]
        await asyncio.to_thread(chain.anvil.reorg, 3, replacement)
        await eventually_async(lambda: node.metrics.reorgs >= 1, WITHIN_S, "the reorg to be seen")
        traffic = chain.traffic(rate=40, max_swaps=30, seed=7).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        assert node.metrics.reorged_blocks >= 3
        assert node.book.counters.swaps != swaps_before
    _final_checks(node, chain)


async def test_reorg_to_a_shorter_chain(chain: Chain, sqlite_url: str) -> None:
    node = EdgeNode(chain.config(sqlite_url))
    async with running(node):
        snapshot = await asyncio.to_thread(chain.anvil.snapshot)
        traffic = chain.traffic(rate=40, max_swaps=40).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
        tip = node.book.head
        assert tip is not None
        # Back to the snapshot: every block since is gone, and the chain is shorter than
        # what the node holds until new blocks come.
        assert await asyncio.to_thread(chain.anvil.revert, snapshot)
        await eventually_async(
            lambda: node.metrics.reorgs >= 1, WITHIN_S, "the rollback to be seen"
        )
        traffic = chain.traffic(rate=40, max_swaps=20, seed=3).start()
        await asyncio.to_thread(traffic.wait, 60)
        await asyncio.to_thread(traffic.stop)
        await caught_up(node, chain.anvil)
    _final_checks(node, chain)


async def test_malformed_messages_are_counted_and_lose_nothing(
    chain: Chain, sqlite_url: str
) -> None:
    from tests.support.ws_mangler import WsMangler

    with WsMangler(chain.anvil.ws_url, every=3) as mangler:
        endpoint = {"name": "mangled", "ws_url": mangler.url}
        node = EdgeNode(chain.config(sqlite_url, endpoints=[endpoint]))
        async with running(node):
            traffic = chain.traffic(rate=40, max_swaps=100).start()
            await asyncio.to_thread(traffic.wait, 60)
            await asyncio.to_thread(traffic.stop)
            await caught_up(node, chain.anvil)
            assert mangler.injected > 20
            errors = dict(node.metrics.market_data_errors)
            assert errors.get("rpc_message", 0) > 0
            assert errors.get("malformed_log", 0) > 0
            assert errors.get("malformed_header", 0) > 0
            assert node.health().ok
            assert node.metrics.websocket_reconnects == 0  # garbage is dropped, not fatal
    cid = node.cfg.chain.chain_id
    assert_store_matches_chain(node.engine, chain, cid)
    assert_candles_match_swaps(node.engine, cid, node.intervals())


async def test_an_endpoint_of_another_chain_is_refused(chain: Chain, sqlite_url: str) -> None:
    from edge_node.devchain.anvil import Anvil

    node = EdgeNode(chain.config(sqlite_url))
    async with running(node):
        await caught_up(node, chain.anvil)
    # Same chain id, different chain (a fresh anvil): the store must not mix the two.
    with Anvil(chain_id=chain.anvil.chain_id) as other:
        endpoint = {"name": "other", "ws_url": other.ws_url, "http_url": other.http_url}
        node2 = EdgeNode(chain.config(sqlite_url, endpoints=[endpoint]))
        async with running(node2):
            await eventually_async(
                lambda: node2.listener.endpoints.states[0].misconfigured, WITHIN_S, "the refusal"
            )
            report = node2.listener.endpoint_report()[0]
            assert "genesis" in str(report["last_error"])
            assert node2.listener.status.active_endpoint is None
            assert not node2.health().ok


@pytest.mark.postgres
async def test_database_outage_mid_run_loses_nothing(chain: Chain, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    real = make_url(pg_url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        node = EdgeNode(chain.config(via_proxy))
        async with running(node):
            traffic = chain.traffic(rate=40).start()
            await eventually_async(
                lambda: node.writer.stats.committed_block is not None, WITHIN_S, "a commit"
            )
            proxy.down()  # the database goes away mid-run
            await eventually_async(
                lambda: node.writer.stats.db_errors > 0, WITHIN_S, "write failures"
            )
            # The node keeps following in memory; commits wait for the database.
            await blocks_go_by(node)
            await eventually_async(
                lambda: node.writer.queue_depth() > 0, WITHIN_S, "commits waiting"
            )
            detail = node.health_detail()
            assert detail["store"]["retrying_since"] is not None
            assert node.book.head is not None
            assert node.writer.stats.committed_block is not None
            assert node.book.head.number > node.writer.stats.committed_block
            proxy.up()  # and comes back
            await asyncio.to_thread(traffic.stop)
            await caught_up(node, chain.anvil, within=60)
            assert node.writer.failed is None
    cid = node.cfg.chain.chain_id
    from shared.db.engine import create_engine

    engine = create_engine(pg_url)
    try:
        assert_store_matches_chain(engine, chain, cid)
        assert_candles_match_swaps(engine, cid, node.intervals())
    finally:
        engine.dispose()


async def test_removed_logs_alone_trigger_the_rollback(sqlite_url: str) -> None:
    from tests.support.ws_mangler import WsMangler

    chain = start_chain(block_time=None)  # automine: every swap is a block of its own
    try:
        with WsMangler(chain.anvil.ws_url, every=0) as proxy:
            endpoint = {"name": "node", "ws_url": proxy.url}
            cfg = chain.config(sqlite_url, endpoints=[endpoint], chain={"liveness_timeout_s": 30.0})
            node = EdgeNode(cfg)
            async with running(node):
                traffic = chain.traffic(rate=20, max_swaps=10).start()
                await asyncio.to_thread(traffic.wait, 60)
                await asyncio.to_thread(traffic.stop)
                await caught_up(node, chain.anvil)
                orphan = node.book.head
                assert orphan is not None
                await eventually_async(
                    lambda: orphan.hash in proxy.logs_by_block, WITHIN_S, "its logs"
                )
                proxy.drop_heads = True  # from here on the node hears of no new head
                await asyncio.to_thread(chain.anvil.reorg, 1, [])
                assert proxy.send_removed(orphan.hash) >= 2  # its Sync and Swap, removed
                await eventually_async(lambda: node.metrics.reorgs >= 1, WITHIN_S, "the rollback")
                await caught_up(node, chain.anvil)
                assert node.book.head is not None
                assert node.book.head.hash != orphan.hash
        cid = node.cfg.chain.chain_id
        assert_store_matches_chain(node.engine, chain, cid)
        assert_candles_match_swaps(node.engine, cid, node.intervals())
    finally:
        chain.anvil.stop()


@pytest.mark.postgres
async def test_a_database_down_when_a_session_starts_is_waited_for(
    chain: Chain, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The first connection checks the chain's genesis against the store: without the
    database it waits for it, rather than failing the endpoint over or stopping."""
    from sqlalchemy.engine import make_url

    from edge_node.rpc.http import HttpRpc

    real = make_url(pg_url)
    with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        node = EdgeNode(chain.config(via_proxy))
        rpc = HttpRpc(chain.anvil.http_url, "node", node.metrics, 5.0)
        try:
            await asyncio.to_thread(node._resume)  # the start: schema and checkpoint
            proxy.down()
            session = asyncio.create_task(node._on_connect(rpc))

            def retries() -> int:
                return caplog.text.count("database unavailable while starting a session")

            await eventually_async(lambda: retries() >= 2, WITHIN_S, "a retry after a failure")
            assert not session.done(), session.done() and session.exception()
            proxy.up()
            await asyncio.wait_for(session, 30)
            genesis = await rpc.request("eth_getBlockByNumber", ["0x0", False])
            assert node._genesis == genesis["hash"]
        finally:
            await rpc.close()
            node.engine.dispose()
