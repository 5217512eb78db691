"""The demo chain and the node, as ``edge-node demo`` runs them, with one difference: the node
reaches anvil through a loopback TCP proxy the stack controls, so that the RPC endpoint can be
cut and brought back (``cut_rpc``/``restore_rpc``) while everything else keeps running.

The node runs in-process in its own thread and event loop (paper trading, SQLite store) and
polls the SSM stop flag in moto; traffic is driven at anvil directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from pathlib import Path
from typing import Any

from edge_node.demo import DEMO_CHAIN_ID, node_config_for, trading_sections
from edge_node.devchain.anvil import Anvil
from edge_node.devchain.arbitrage import ArbSetup, deploy_arbitrage
from edge_node.devchain.market import prepare_traders
from edge_node.devchain.tcp_proxy import TcpProxy
from edge_node.devchain.traffic import SwapSizing, TrafficGenerator
from edge_node.service import EdgeNode
from shared.config import NodeConfig

CONTROL_POLL_S = 0.5


class NodeThread:
    """One EdgeNode in a thread of its own; ``stop`` drains it like SIGTERM would."""

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.node: EdgeNode | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="edge-node", daemon=True)

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as err:  # shown by start() or stop(), never lost
            self.error = err
        finally:
            self._ready.set()

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.node = EdgeNode(self.cfg)
        ready = asyncio.Event()
        task = asyncio.create_task(self.node.run(self._stop, ready))
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([waiter, task], return_when="FIRST_COMPLETED")
        self._ready.set()
        await task

    def start(self, timeout: float = 60.0) -> EdgeNode:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"the node did not start within {timeout:.0f}s")
        if self.error is not None:
            raise RuntimeError(f"the node failed to start: {self.error}") from self.error
        assert self.node is not None and self.node.api is not None
        return self.node

    def stop(self, timeout: float = 60.0) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own
                loop.call_soon_threadsafe(stop.set)
        self._thread.join(timeout)

    def trading_state(self) -> str | None:
        node = self.node
        if node is None or node.desk is None:
            return None
        return node.desk.control.state.value


class DemoChain:
    """anvil with the demo market, the proxy in front of it, traffic, and the node."""

    def __init__(self, workdir: Path, *, ssm_flag: str, region: str, rate: float = 4.0):
        self.workdir = workdir
        self.ssm_flag, self.region, self.rate = ssm_flag, region, rate
        self.token = "laptop-" + secrets.token_urlsafe(18)
        self.anvil: Anvil | None = None
        self.proxy: TcpProxy | None = None
        self.traffic: TrafficGenerator | None = None
        self.runner: NodeThread | None = None
        self.setup: ArbSetup | None = None
        self._stack = contextlib.ExitStack()

    def start(self) -> None:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        anvil = self._stack.enter_context(Anvil(chain_id=DEMO_CHAIN_ID))
        self.anvil = anvil
        setup = self.setup = deploy_arbitrage(anvil)
        traders = prepare_traders(anvil, setup.market, list(range(1, 4)))
        anvil.set_interval_mining(1)
        self.proxy = TcpProxy("127.0.0.1", anvil.port).start()
        self._stack.callback(self.proxy.close)
        self.workdir.mkdir(parents=True, exist_ok=True)
        for old in self.workdir.glob("edge.db*"):
            old.unlink()
        cfg = node_config_for(
            anvil,
            setup.market,
            self.store_url,
            self.token,
            endpoints=[
                {
                    "name": "anvil-via-proxy",
                    "ws_url": f"ws://127.0.0.1:{self.proxy.port}",
                    "http_url": f"http://127.0.0.1:{self.proxy.port}",
                }
            ],
            trading={
                **trading_sections(setup),
                "control": {
                    "poll_interval_s": CONTROL_POLL_S,
                    "ssm_parameter": self.ssm_flag,
                    "aws_region": self.region,
                },
            },
        )
        self.runner = NodeThread(cfg)
        self._stack.callback(self.runner.stop)
        self.runner.start()
        sizing = SwapSizing(
            min_fraction=1e-5, max_fraction=2e-3, large_probability=0.02, large_max_fraction=1e-2
        )
        self.traffic = TrafficGenerator(
            anvil.http_url, setup.market, traders, rate=self.rate, sizing=sizing
        )
        self.traffic.start()
        self._stack.callback(self.traffic.stop)

    def stop(self) -> None:
        self._stack.close()

    @property
    def store_url(self) -> str:
        return f"sqlite:///{(self.workdir / 'edge.db').resolve()}"

    @property
    def node(self) -> EdgeNode:
        assert self.runner is not None and self.runner.node is not None
        return self.runner.node

    @property
    def api_address(self) -> str:
        assert self.node.api is not None
        return f"127.0.0.1:{self.node.api.port}"

    def cut_rpc(self, _payload: Any = None) -> dict[str, str]:
        assert self.proxy is not None
        self.proxy.down()
        return {"rpc": "cut"}

    def restore_rpc(self, _payload: Any = None) -> dict[str, str]:
        assert self.proxy is not None
        self.proxy.up()
        return {"rpc": "restored"}
