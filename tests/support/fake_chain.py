"""An in-memory chain that answers the follower's JSON-RPC calls, with faults on demand.

Answers are encoded to JSON and decoded with the decoder the caller passes, exactly as the
real transports do, so the follower sees what it would see from a node.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
import orjson

from edge_node.chain import abi
from edge_node.chain.wire import ANY
from edge_node.rpc.errors import RequestTimedOut, ResponseTooLarge, RpcError
from tests.edge_node.chain import logs as L


def bhash(number: int, fork: int = 0) -> str:
    return "0x" + f"{fork:02x}{number:062x}"


@dataclass
class FakeChain:
    name: str = "fake"
    blocks: list[dict[str, Any]] = field(default_factory=list)  # index = number
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by block hash
    max_range: int | None = None  # eth_getLogs ranges wider than this are refused
    slow_range: int | None = None  # eth_getLogs ranges wider than this time out
    big_range: int | None = None  # eth_getLogs answers for wider ranges are refused as too large
    calls: list[str] = field(default_factory=list)
    corrupt_next_logs: bool = False

    def mine(self, n: int, pool: str, fork: int = 0, swaps_per_block: int = 1) -> None:
        for _ in range(n):
            number = len(self.blocks)
            parent = self.blocks[-1]["hash"] if self.blocks else "0x" + "00" * 32
            h = bhash(number, fork)
            self.blocks.append(
                {
                    "number": hex(number),
                    "hash": h,
                    "parentHash": parent,
                    "timestamp": hex(1_700_000_000 + number * 3),
                }
            )
            entries = []
            for k in range(swaps_per_block):
                r0, r1 = 10**21 + number * 10**15 + k, 6 * 10**23 - number * 10**17
                entries.append(
                    L.v2_sync(r0, r1, address=pool, block=number, block_hash=h, index=2 * k)
                )
                entries.append(
                    L.v2_swap(
                        10**15,
                        0,
                        0,
                        10**17,
                        address=pool,
                        block=number,
                        block_hash=h,
                        index=2 * k + 1,
                    )
                )
            self.logs[h] = entries

    def reorg(self, depth: int, pool: str, fork: int) -> None:
        for b in self.blocks[-depth:]:
            del self.logs[b["hash"]]
        del self.blocks[-depth:]
        self.mine(depth, pool, fork=fork)

    @property
    def head(self) -> int:
        return len(self.blocks) - 1

    def swap_keys(self) -> set[tuple[str, int]]:
        return {
            (lg["blockHash"], int(lg["logIndex"], 16))
            for b in self.blocks
            for lg in self.logs[b["hash"]]
            if lg["topics"][0] == abi.V2_SWAP
        }

    # --- the Rpc protocol -----------------------------------------------------------------------

    def _answer(self, method: str, params: Sequence[Any]) -> Any:
        self.calls.append(method)
        if method == "eth_blockNumber":
            return hex(self.head)
        if method == "eth_getBlockByNumber":
            n = int(params[0], 16)
            return self.blocks[n] if n <= self.head else None
        if method == "eth_getLogs":
            f = params[0]
            if "blockHash" in f:
                result = list(self.logs.get(f["blockHash"], []))
            else:
                a, b = int(f["fromBlock"], 16), int(f["toBlock"], 16)
                if self.max_range is not None and b - a + 1 > self.max_range:
                    raise RpcError(-32005, "query returned more than 10000 results")
                if self.slow_range is not None and b - a + 1 > self.slow_range:
                    raise RequestTimedOut(f"{self.name}: eth_getLogs timed out")
                if self.big_range is not None and b - a + 1 > self.big_range:
                    raise ResponseTooLarge(f"{self.name}: refused an answer over the limit")
                result = [lg for blk in self.blocks[a : b + 1] for lg in self.logs[blk["hash"]]]
            if self.corrupt_next_logs and result:
                self.corrupt_next_logs = False
                result = [dict(result[0], data="0xnothex"), *result[1:]]
            return result
        raise RpcError(-32601, f"method {method} not found")

    async def request(
        self, method: str, params: Sequence[Any] = (), decoder: msgspec.json.Decoder[Any] = ANY
    ) -> Any:
        return decoder.decode(orjson.dumps(self._answer(method, params)))

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], decoder: msgspec.json.Decoder[Any] = ANY
    ) -> list[Any]:
        return [decoder.decode(orjson.dumps(self._answer(m, p))) for m, p in calls]
