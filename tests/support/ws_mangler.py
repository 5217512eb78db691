"""A websocket proxy that relays a real node's session and injects malformed messages into it.

It learns the subscription ids from the node's answers to eth_subscribe, so it can inject
malformed logs and heads on the right subscriptions, as a broken or hostile endpoint would.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import threading
from typing import Any, Self

import websockets
from websockets.asyncio.server import ServerConnection, serve


def _garbage(subs: dict[str, str]) -> list[str]:
    logs = subs.get("logs", "0xdead")
    heads = subs.get("newHeads", "0xbeef")

    def note(sub: str, result: Any) -> str:
        return json.dumps(
            {
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {"subscription": sub, "result": result},
            }
        )

    return [
        "this is not json {",
        "[1, 2, 3]",
        '{"jsonrpc": "2.0", "id": 999999999, "result": "0x1"}',
        note(logs, {"address": "0x12", "topics": [], "data": "zz"}),
        note(
            logs,
            {
                "address": "0x" + "ab" * 20,
                "topics": ["0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"],
                "data": "0xnothex",
                "blockNumber": "0x1",
                "blockHash": "0x" + "00" * 32,
                "transactionHash": "0x" + "00" * 32,
                "logIndex": "0x0",
            },
        ),
        note(heads, {"number": "zz", "hash": "0x1"}),
        note(heads, None),
        note("0xunknown", {"whatever": True}),
        json.dumps({"jsonrpc": "2.0", "method": "eth_subscription"}),
    ]


class WsMangler:
    """``every``: inject one malformed message after every ``every`` relayed (0: never).
    ``drop_heads``: stop relaying newHeads notifications. ``send_removed(block_hash)``: send
    the logs relayed for that block again, flagged ``removed: true``, as a node does when the
    block leaves the chain."""

    def __init__(self, upstream: str, every: int = 5) -> None:
        self.upstream = upstream
        self.every = every
        self.injected = 0
        self.drop_heads = False
        self.logs_by_block: dict[str, list[str]] = {}
        self._clients: list[tuple[ServerConnection, dict[str, str]]] = []
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: Any = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _start(self) -> None:
        self._server = await serve(self._session, "127.0.0.1", self.port, compression=None)

    def send_removed(self, block_hash: str) -> int:
        fut = asyncio.run_coroutine_threadsafe(self._send_removed(block_hash), self._loop)
        return fut.result(10)

    async def _send_removed(self, block_hash: str) -> int:
        sent = 0
        for client, _ in self._clients:
            for raw in self.logs_by_block.get(block_hash, []):
                msg = json.loads(raw)
                msg["params"]["result"]["removed"] = True
                await client.send(json.dumps(msg))
                sent += 1
        return sent

    async def _stop(self) -> None:
        self._server.close()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()

    async def _session(self, client: ServerConnection) -> None:
        subs: dict[str, str] = {}  # kind -> subscription id
        asked: dict[int, str] = {}  # request id -> subscription kind
        counter = itertools.count(1)
        self._clients.append((client, subs))
        async with websockets.connect(self.upstream, compression=None, max_size=None) as node:

            async def up() -> None:
                async for msg in client:
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        req = json.loads(msg)
                        if isinstance(req, dict) and req.get("method") == "eth_subscribe":
                            asked[req["id"]] = req["params"][0]
                    await node.send(msg)

            async def down() -> None:
                async for msg in node:
                    with contextlib.suppress(ValueError, TypeError, AttributeError, KeyError):
                        ans = json.loads(msg)
                        if isinstance(ans, dict) and ans.get("id") in asked:
                            subs[asked.pop(ans["id"])] = ans["result"]
                        if isinstance(ans, dict) and ans.get("method") == "eth_subscription":
                            sub = ans["params"]["subscription"]
                            if sub == subs.get("newHeads") and self.drop_heads:
                                continue
                            if sub == subs.get("logs"):
                                bh = ans["params"]["result"]["blockHash"]
                                text = msg if isinstance(msg, str) else msg.decode()
                                self.logs_by_block.setdefault(bh, []).append(text)
                    await client.send(msg)
                    if self.every and subs and next(counter) % self.every == 0:
                        junk = _garbage(subs)
                        await client.send(junk[self.injected % len(junk)])
                        self.injected += 1

            tasks = [asyncio.create_task(up()), asyncio.create_task(down())]
            with contextlib.suppress(Exception):
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in tasks:
                t.cancel()
