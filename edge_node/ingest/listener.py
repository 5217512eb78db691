"""The listener: connections to the RPC endpoints, and the session loop that feeds the follower.

Every session, on every endpoint, starts the same way, whether it is the first connection, a
reconnect after a drop, or a failover: verify the chain id, subscribe (newHeads and the pools'
logs), check that the last processed block is still canonical (rolling back if not), backfill
with eth_getLogs from there to the head, and only then follow live heads. A session ends when
the socket drops, when no head arrives within the liveness timeout (a stream can die with the
socket open), or when the prober finds a better endpoint; the loop then moves to the next
endpoint at once, and the failed one cools down with capped, jittered exponential backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import msgspec

from edge_node.chain.decode import MalformedHeader, header_from_raw
from edge_node.chain.events import BlockHeader, PoolEvent
from edge_node.chain.wire import HEADER, DecodeError
from edge_node.ingest.endpoints import EndpointSet, EndpointState
from edge_node.ingest.follower import Follower, Rpc
from edge_node.market.book import ReorgTooDeep
from edge_node.rpc.errors import (
    EndpointMisconfigured,
    EndpointUnavailable,
    ResponseInvalid,
    RpcError,
    StreamStale,
)
from edge_node.rpc.http import HttpRpc
from edge_node.rpc.ws import WsRpc
from edge_node.telemetry import Metrics
from shared.config import NodeConfig

log = logging.getLogger(__name__)

GOOD_SESSION_S = 30.0
PROBE_TIMEOUT_S = 5.0


class SwitchEndpoint(Exception):
    """The prober found a better endpoint; end this session without blaming the endpoint."""


@dataclass
class ListenerStatus:
    active_endpoint: str | None = None
    connected_since: float | None = None
    sessions: int = 0
    fatal: str | None = None


class Listener:
    def __init__(
        self,
        cfg: NodeConfig,
        follower: Follower,
        metrics: Metrics,
        *,
        websocket: bool,
        on_connect: Callable[[Rpc], Awaitable[None]] | None = None,
    ) -> None:
        self.cfg = cfg
        self.chain = cfg.chain
        self.follower = follower
        self.metrics = metrics
        self.websocket = websocket
        self.on_connect = on_connect
        follower.assembler.on_removed = self._on_removed
        self.endpoints = EndpointSet(
            list(cfg.endpoints),
            "ws" if websocket else "http",
            backoff_initial_s=cfg.chain.backoff_initial_s,
            backoff_max_s=cfg.chain.backoff_max_s,
            max_head_lag=cfg.chain.max_head_lag_blocks,
        )
        self.status = ListenerStatus()
        # The active session's connection (None between sessions): what the trader calls.
        self.rpc: WsRpc | HttpRpc | None = None
        self._wake = asyncio.Event()
        self._switch_to: str | None = None
        self._reorg_suspected = False
        self._last_head_rx = time.monotonic()
        self._latest: BlockHeader | None = None
        self._probes: dict[str, HttpRpc] = {}

    # --- the connect loop -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        prober = asyncio.create_task(self._probe_loop(stop), name="endpoint-prober")
        try:
            await self._connect_loop(stop)
        finally:
            prober.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await prober
            for p in self._probes.values():
                await p.close()

    async def _connect_loop(self, stop: asyncio.Event) -> None:
        previous: str | None = None
        while not stop.is_set():
            now = time.monotonic()
            ep = self.endpoints.choose(now)
            if ep is None:
                await _sleep_or_stop(stop, max(0.05, self.endpoints.next_ready_at() - now))
                continue
            try:
                rpc = await self._open(ep)
            except EndpointMisconfigured as err:
                self._failed(ep, err, misconfigured=True)
                continue
            except (EndpointUnavailable, RpcError) as err:
                self._failed(ep, err, misconfigured=False)
                continue
            if previous is not None:
                self.metrics.websocket_reconnects += 1
                if previous != ep.name:
                    self.metrics.rpc_failovers += 1
                    log.warning("failed over from %s to %s", previous, ep.name)
            previous = ep.name
            started = time.monotonic()
            self.status.active_endpoint = ep.name
            self.status.connected_since = time.time()
            self.status.sessions += 1
            self.endpoints.on_connected(ep)
            self.rpc = rpc
            try:
                await self._session(rpc, ep, stop)
            except SwitchEndpoint as sw:
                log.info("leaving %s: %s", ep.name, sw)
            except EndpointMisconfigured as err:
                self._failed(ep, err, misconfigured=True)
            except (EndpointUnavailable, RpcError, MalformedHeader) as err:
                self._failed(ep, err, misconfigured=False)
            except ReorgTooDeep as err:
                self.status.fatal = str(err)
                log.critical("%s", err)
                raise
            finally:
                self.rpc = None
                await rpc.close()
                if self.websocket:
                    self.metrics.websocket_connections = 0
                self.status.active_endpoint = None
                self.status.connected_since = None
                if time.monotonic() - started >= GOOD_SESSION_S:
                    self.endpoints.on_good_session(ep)

    def _failed(self, ep: EndpointState, err: BaseException, *, misconfigured: bool) -> None:
        text = f"{type(err).__name__}: {err}"
        self.endpoints.on_failure(ep, time.monotonic(), text, misconfigured)
        self.metrics.endpoint_up[ep.name] = False
        level = logging.ERROR if misconfigured else logging.WARNING
        log.log(level, "endpoint %s: %s", ep.name, text)

    async def _open(self, ep: EndpointState) -> WsRpc | HttpRpc:
        url = self.endpoints.url(ep)
        rpc: WsRpc | HttpRpc
        if self.websocket:
            rpc = await WsRpc.open(
                url,
                ep.name,
                self.metrics,
                open_timeout=self.chain.request_timeout_s,
                request_timeout=self.chain.request_timeout_s,
            )
        else:
            rpc = HttpRpc(url, ep.name, self.metrics, self.chain.request_timeout_s)
        try:
            chain_id = _quantity(await rpc.request("eth_chainId"), "eth_chainId")
            if chain_id != self.chain.chain_id:
                raise EndpointMisconfigured(
                    f"{ep.name} serves chain id {chain_id}, the config says {self.chain.chain_id}"
                )
            if self.on_connect is not None:
                await self.on_connect(rpc)
        except BaseException:
            await rpc.close()
            raise
        return rpc

    # --- sessions -------------------------------------------------------------------------------

    async def _session(self, rpc: WsRpc | HttpRpc, ep: EndpointState, stop: asyncio.Event) -> None:
        self._wake.clear()
        self._switch_to = None
        self._reorg_suspected = False
        watchers: list[asyncio.Future[object]] = [asyncio.ensure_future(stop.wait())]
        if isinstance(rpc, WsRpc):
            watchers.append(asyncio.ensure_future(rpc.wait_closed()))
        for w in watchers:
            w.add_done_callback(lambda _: self._wake.set())
        try:
            if isinstance(rpc, WsRpc):
                await self._session_ws(rpc, ep, stop)
            else:
                await self._session_poll(rpc, ep, stop)
        finally:
            for w in watchers:
                w.cancel()

    async def _catch_up(self, rpc: Rpc) -> None:
        """Verify our head is canonical, then backfill to the endpoint's head."""
        await self.follower.resolve_reorg(rpc)
        head = _quantity(await rpc.request("eth_blockNumber"), "eth_blockNumber")
        await self.follower.sync_to(rpc, head)

    async def _session_ws(self, rpc: WsRpc, ep: EndpointState, stop: asyncio.Event) -> None:
        self._latest = None

        def on_head(raw: msgspec.Raw) -> None:
            try:
                decoded = HEADER.decode(raw)
                if decoded is None:
                    raise MalformedHeader("null head")
                h = header_from_raw(decoded)
            except (MalformedHeader, *DecodeError) as err:
                self.metrics.market_data_error("malformed_header")
                log.warning("%s: dropped a malformed head: %s", ep.name, err)
                return
            self._latest = h
            self._last_head_rx = time.monotonic()
            self.endpoints.on_head(ep, h.number)
            self.metrics.endpoint_head[ep.name] = h.number
            self._wake.set()

        await rpc.subscribe("newHeads", [], on_head)
        await rpc.subscribe_logs([self.follower._filter()], self.follower.assembler.on_log)
        self.metrics.websocket_connections = 1
        self._last_head_rx = time.monotonic()
        await self._catch_up(rpc)
        while True:
            timeout = self.chain.liveness_timeout_s - (time.monotonic() - self._last_head_rx)
            if timeout <= 0:
                raise StreamStale(
                    f"{ep.name}: no new head for {self.chain.liveness_timeout_s:.0f}s"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            if stop.is_set():
                return
            if rpc.closed:
                raise EndpointUnavailable(f"{ep.name}: connection lost")
            self._check_switch()
            if self._take_reorg_suspicion():
                await self._catch_up(rpc)
            head = self._take_latest()
            if head is not None:
                await self.follower.on_head(rpc, head)

    # Set by callbacks and the prober while the session awaits; read through methods so the
    # session loop does not rely on values narrowed before an await.
    def _check_switch(self) -> None:
        if self._switch_to is not None:
            raise SwitchEndpoint(f"{self._switch_to} is preferred")

    def _take_reorg_suspicion(self) -> bool:
        suspected, self._reorg_suspected = self._reorg_suspected, False
        return suspected

    def _take_latest(self) -> BlockHeader | None:
        head, self._latest = self._latest, None
        return head

    async def _session_poll(self, rpc: HttpRpc, ep: EndpointState, stop: asyncio.Event) -> None:
        await self._catch_up(rpc)
        last: BlockHeader | None = None
        progress = time.monotonic()
        while not stop.is_set():
            raw = await rpc.request("eth_getBlockByNumber", ["latest", False], HEADER)
            try:
                if raw is None:
                    raise MalformedHeader("no latest block")
                head = header_from_raw(raw)
            except MalformedHeader as err:
                self.metrics.market_data_error("malformed_header")
                raise ResponseInvalid(f"{ep.name}: latest block: {err}") from None
            self.endpoints.on_head(ep, head.number)
            self.metrics.endpoint_head[ep.name] = head.number
            if last is None or head.hash != last.hash:
                progress = time.monotonic()
                last = head
                await self.follower.on_head(rpc, head)
            elif time.monotonic() - progress > self.chain.liveness_timeout_s:
                raise StreamStale(f"{ep.name}: head stuck at {head.number}")
            self._check_switch()
            await _sleep_or_stop(stop, self.chain.poll_interval_s)

    def _on_removed(self, ev: PoolEvent) -> None:
        """The node says a block we may hold left the chain: look for the reorg at once."""
        self._reorg_suspected = True
        self._wake.set()

    # --- probing --------------------------------------------------------------------------------

    async def _probe_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await _sleep_or_stop(stop, self.chain.probe_interval_s)
            if stop.is_set():
                return
            active = self.status.active_endpoint
            results = await asyncio.gather(
                *(self._probe(s) for s in self.endpoints.states if s.name != active)
            )
            for s, head in zip(
                [s for s in self.endpoints.states if s.name != active], results, strict=True
            ):
                self.endpoints.on_probe(s, head)
                self.metrics.endpoint_up[s.name] = head is not None
                if head is not None:
                    self.metrics.endpoint_head[s.name] = head
            if active is not None:
                self.metrics.endpoint_up[active] = True
                current = next(s for s in self.endpoints.states if s.name == active)
                target = self.endpoints.switch_target(current, time.monotonic())
                if target is not None and self._switch_to is None:
                    self._switch_to = target.name
                    self._wake.set()

    async def _probe(self, s: EndpointState) -> int | None:
        try:
            if s.cfg.http_url:
                probe = self._probes.get(s.name)
                if probe is None or probe.closed:
                    probe = HttpRpc(s.cfg.http_url, s.name, self.metrics, PROBE_TIMEOUT_S)
                    self._probes[s.name] = probe
                return _quantity(await probe.request("eth_blockNumber"), "eth_blockNumber")
            assert s.cfg.ws_url is not None
            ws = await WsRpc.open(
                s.cfg.ws_url,
                s.name,
                self.metrics,
                open_timeout=PROBE_TIMEOUT_S,
                request_timeout=PROBE_TIMEOUT_S,
            )
            try:
                return _quantity(await ws.request("eth_blockNumber"), "eth_blockNumber")
            finally:
                await ws.close()
        except (EndpointUnavailable, EndpointMisconfigured, RpcError) as err:
            log.debug("probe of %s failed: %s", s.name, err)
            return None

    # --- status ---------------------------------------------------------------------------------

    def all_refused(self) -> str | None:
        """The last error, if every endpoint is currently refused as misconfigured."""
        states = self.endpoints.states
        if states and all(s.misconfigured for s in states):
            return states[0].last_error
        return None

    def endpoint_report(self) -> list[dict[str, object]]:
        lag = self.metrics.endpoint_lag()
        now = time.monotonic()
        return [
            {
                "name": s.name,
                "active": s.name == self.status.active_endpoint,
                "up": s.up,
                "head": s.head,
                "head_lag_blocks": lag.get(s.name),
                "failures": s.failures,
                "cooling_down_s": round(max(0.0, s.cooldown_until - now), 1),
                "misconfigured": s.misconfigured,
                "last_error": s.last_error,
                "last_error_age_s": (
                    None if s.last_error_at is None else round(time.time() - s.last_error_at, 1)
                ),
            }
            for s in self.endpoints.states
        ]


def _quantity(v: object, what: str) -> int:
    if type(v) is not str or not v.startswith("0x"):
        raise ResponseInvalid(f"{what} answered {v!r}")
    try:
        return int(v, 16)
    except ValueError:
        raise ResponseInvalid(f"{what} answered {v!r}") from None


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
