"""The follower: brings the market book to the chain head and keeps it there.

Every path that moves the book goes through here, whatever woke it up (a new head from the
websocket, a poll, a reconnect, a restart):

- ``sync_to(n)`` catches up from the book's head to block ``n``. Blocks older than the reorg
  window are fetched with ``eth_getLogs`` over bounded block ranges (split further when a node
  refuses a range as too large), with headers only for the blocks that carry logs. The last
  ``reorg_window`` blocks are fetched block by block: header by number, then logs by block
  hash (EIP-234), so each block's logs are tied to one hash and the parent-hash chain is
  checked link by link.
- ``on_head(h)`` handles one new head: the next block is confirmed with ``eth_getLogs`` by its
  hash (the logs subscription is for speed, this is for completeness), a gap is synced, a head
  that does not extend ours triggers the reorg search.
- ``resolve_reorg()`` finds the highest block we hold that is still canonical, rolls the book
  back to it (undo records) and tells the store to do the same.

Nothing here blocks on the store: commits go to the writer's queue (with backpressure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import msgspec

from edge_node.chain.abi import ALL_TOPICS
from edge_node.chain.decode import MalformedHeader, MalformedLog, header_from_raw
from edge_node.chain.events import BlockHeader, PoolEvent
from edge_node.chain.wire import HEADER, LOGS, RawLog
from edge_node.ingest.assembler import BlockAssembler, InconsistentBlock
from edge_node.market.book import MarketBook, NotContiguous, ReorgTooDeep
from edge_node.market.book_records import BlockCommit, Rollback
from edge_node.rpc.errors import (
    EndpointUnavailable,
    RequestTimedOut,
    ResponseInvalid,
    ResponseTooLarge,
    RpcError,
    range_too_large,
)
from edge_node.telemetry import Metrics

log = logging.getLogger(__name__)


class Rpc(Protocol):
    name: str

    async def request(
        self, method: str, params: Sequence[Any] = (), decoder: msgspec.json.Decoder[Any] = ...
    ) -> Any: ...

    async def batch(
        self, calls: Sequence[tuple[str, Sequence[Any]]], decoder: msgspec.json.Decoder[Any] = ...
    ) -> list[Any]: ...


class Sink(Protocol):
    async def commit(self, commit: BlockCommit) -> None: ...

    async def rollback(self, rollback: Rollback) -> None: ...


# Passes of ``sync_to`` without progress before the endpoint is given up on (about 9 s).
_MAX_STALLS = 8


class ChainMoved(Exception):
    """The chain changed under a multi-request fetch; the caller simply tries again."""


class Follower:
    def __init__(
        self,
        book: MarketBook,
        sink: Sink,
        metrics: Metrics,
        *,
        addresses: Sequence[str],
        getlogs_max_range: int = 2000,
        batch_max_requests: int = 100,
        start_block: int | None = None,
        on_commit: Callable[[BlockCommit], None] | None = None,
        on_rollback: Callable[[Rollback], None] | None = None,
        assembler: BlockAssembler | None = None,
    ) -> None:
        self.book = book
        self.assembler = assembler or BlockAssembler(metrics)
        self.sink = sink
        self.metrics = metrics
        self.addresses = list(addresses)
        self.topics = [list(ALL_TOPICS)]
        self.max_range = getlogs_max_range
        self.batch_max = batch_max_requests
        self.start_block = start_block
        self.on_commit = on_commit
        self.on_rollback = on_rollback
        self.chain_head: int | None = None
        self.last_progress = time.monotonic()

    @property
    def window(self) -> int:
        return self.book.window

    def _filter(self, **extra: Any) -> dict[str, Any]:
        return {"address": self.addresses, "topics": self.topics, **extra}

    # --- catching up ----------------------------------------------------------------------------

    async def sync_to(self, rpc: Rpc, target: int) -> None:
        """Process every block up to ``target`` (inclusive)."""
        self._saw_head(target)
        attempts = 0
        stalls = 0
        while True:
            head = self.book.head
            if head is None:
                # A fresh store starts at least one reorg window back, so that even its
                # first blocks can be rolled back (a reorg below the first block applied
                # could not be undone, and every restart would meet it again).
                window_start = max(0, target - self.window + 1)
                if self.start_block is None or self.start_block > window_start:
                    self.start_block = window_start
                start = self.start_block
            else:
                start = head.number + 1
            if start > target:
                return
            tip_from = max(start, target - self.window + 1)
            try:
                if start < tip_from:
                    await self._sync_range(
                        rpc, start, min(tip_from - 1, start + self.max_range - 1)
                    )
                else:
                    await self._sync_tip(rpc, start, min(target, start + self.batch_max - 1))
                attempts = 0
                if self.book.head is head:
                    # No progress although the endpoint announced block ``target``: a load
                    # balancer whose backends disagree, or a chain that went back and stalled.
                    stalls += 1
                    if stalls > _MAX_STALLS:
                        raise EndpointUnavailable(
                            f"{rpc.name}: announced block {target} but does not serve block "
                            f"{start} after {_MAX_STALLS} tries"
                        )
                    await asyncio.sleep(min(2.0, 0.05 * 2**stalls))
                else:
                    stalls = 0
            except ChainMoved as moved:
                attempts += 1
                if attempts > 5:
                    raise ResponseInvalid(
                        f"{rpc.name}: chain keeps moving under us: {moved}"
                    ) from None
                log.info("chain moved during fetch (%s); retrying", moved)

    async def _get_logs(self, rpc: Rpc, a: int, b: int) -> list[RawLog]:
        try:
            logs: list[RawLog] = await rpc.request(
                "eth_getLogs", [self._filter(fromBlock=hex(a), toBlock=hex(b))], LOGS
            )
        except RpcError as err:
            if a < b and range_too_large(err):
                mid = (a + b) // 2
                log.info("eth_getLogs %d-%d refused (%s); splitting", a, b, err.message)
                return await self._get_logs(rpc, a, mid) + await self._get_logs(rpc, mid + 1, b)
            raise
        except ResponseTooLarge:
            if a < b:
                # Later ranges start smaller too: a websocket that refused the answer is
                # closed, so the split may only be asked for after the reconnect.
                self.max_range = max(1, min(self.max_range, (b - a + 1) // 2))
                mid = (a + b) // 2
                log.warning(
                    "eth_getLogs %d-%d answer too large; ranges now %d blocks", a, b, self.max_range
                )
                return await self._get_logs(rpc, a, mid) + await self._get_logs(rpc, mid + 1, b)
            raise
        except RequestTimedOut:
            # A range too heavy to answer in time is a range too large that says nothing.
            if a < b:
                mid = (a + b) // 2
                log.info("eth_getLogs %d-%d timed out; splitting", a, b)
                return await self._get_logs(rpc, a, mid) + await self._get_logs(rpc, mid + 1, b)
            raise
        return logs

    async def _headers(self, rpc: Rpc, numbers: Sequence[int]) -> dict[int, BlockHeader | None]:
        out: dict[int, BlockHeader | None] = {}
        for i in range(0, len(numbers), self.batch_max):
            chunk = numbers[i : i + self.batch_max]
            answers = await rpc.batch(
                [("eth_getBlockByNumber", [hex(n), False]) for n in chunk], HEADER
            )
            for n, raw in zip(chunk, answers, strict=True):
                if raw is None:
                    out[n] = None
                    continue
                try:
                    header = header_from_raw(raw)
                except MalformedHeader as err:
                    self.metrics.market_data_error("malformed_header")
                    raise ResponseInvalid(f"{rpc.name}: block {n}: {err}") from None
                if header.number != n:
                    raise ResponseInvalid(f"{rpc.name}: asked block {n}, got {header.number}")
                out[n] = header
        return out

    def _decode(self, header: BlockHeader, logs: list[RawLog]) -> list[PoolEvent]:
        try:
            return self.assembler.take(header, logs)
        except InconsistentBlock as err:
            raise ChainMoved(str(err)) from None
        except MalformedLog as err:
            # Never skip a log of an authoritative answer: ask again, elsewhere if need be.
            raise ResponseInvalid(f"eth_getLogs for block {header.number}: {err}") from None

    async def _sync_range(self, rpc: Rpc, a: int, b: int) -> None:
        """Blocks a..b, all older than the reorg window: one eth_getLogs, sparse headers."""
        logs = await self._get_logs(rpc, a, b)
        by_block: dict[int, list[RawLog]] = {}
        for raw in logs:
            try:
                n = int(raw.block_number, 16)
            except ValueError:
                self.metrics.market_data_error("malformed_log")
                raise ResponseInvalid(f"{rpc.name}: eth_getLogs: bad blockNumber") from None
            if not a <= n <= b:
                raise ResponseInvalid(f"{rpc.name}: eth_getLogs {a}-{b} returned block {n}")
            by_block.setdefault(n, []).append(raw)
        numbers = sorted(by_block)
        if not numbers or numbers[-1] != b:
            numbers.append(b)
        headers = await self._headers(rpc, numbers)
        for n in numbers:
            header = headers[n]
            if header is None:
                raise ChainMoved(f"block {n} is gone")
            events = self._decode(header, by_block.get(n, []))
            await self._apply(header, events, verified=False)
        self.metrics.backfilled_blocks += b - a + 1
        log.info("backfilled blocks %d-%d (%d with events)", a, b, len(by_block))

    async def _sync_tip(self, rpc: Rpc, a: int, b: int) -> None:
        """Blocks a..b within the reorg window: headers by number, logs by block hash."""
        headers = await self._headers(rpc, list(range(a, b + 1)))
        chain: list[BlockHeader] = []
        for n in range(a, b + 1):
            h = headers[n]
            if h is None:
                break  # the endpoint has not seen it yet
            if chain and h.parent_hash != chain[-1].hash:
                raise ChainMoved(f"block {n} does not link to {n - 1}")
            chain.append(h)
        if not chain:
            return
        head = self.book.head
        if head is not None and chain[0].parent_hash != head.hash:
            await self.resolve_reorg(rpc)
            return
        answers = await rpc.batch(
            [("eth_getLogs", [self._filter(blockHash=h.hash)]) for h in chain], LOGS
        )
        for h, logs in zip(chain, answers, strict=True):
            await self._apply(h, self._decode(h, logs), verified=True)
        if a < b or len(chain) > 1:
            self.metrics.backfilled_blocks += len(chain)

    async def _apply(self, header: BlockHeader, events: list[PoolEvent], verified: bool) -> None:
        commit = self.book.apply_block(header, events, verified=verified)
        self.metrics.block_interval.observe(header.number, header.timestamp)
        self.assembler.prune(below=header.number - self.window)
        await self.sink.commit(commit)
        self.last_progress = time.monotonic()
        self._update_lag()
        if self.on_commit is not None:
            self.on_commit(commit)

    # --- live heads -----------------------------------------------------------------------------

    def _saw_head(self, number: int) -> None:
        if self.chain_head is None or number > self.chain_head:
            self.chain_head = number
        self._update_lag()

    def _update_lag(self) -> None:
        head = self.book.head
        if self.chain_head is not None and head is not None:
            self.metrics.head_lag_blocks = max(0, self.chain_head - head.number)
            self.metrics.chain_head = self.chain_head

    async def on_head(self, rpc: Rpc, header: BlockHeader) -> None:
        self._saw_head(header.number)
        head = self.book.head
        if head is None:
            await self.sync_to(rpc, header.number)
            return
        if header.number <= head.number:
            if self.book.hash_at(header.number) == header.hash:
                return  # already processed (a repeat, or a head from another source)
            # The chain now has a different block at a height we hold (anvil_reorg, a
            # rollback, or a reorg to a shorter chain).
            self.chain_head = header.number
            await self.resolve_reorg(rpc)
            await self.sync_to(rpc, header.number)
            return
        if header.number == head.number + 1 and header.parent_hash == head.hash:
            try:
                logs = await rpc.request("eth_getLogs", [self._filter(blockHash=header.hash)], LOGS)
            except RpcError as err:
                # Most likely the block was replaced between the head and our request.
                log.info("eth_getLogs for new head %d failed (%s); resyncing", header.number, err)
                await self.resolve_reorg(rpc)
                await self.sync_to(rpc, header.number)
                return
            try:
                events = self._decode(header, logs)
            except ChainMoved:
                await self.sync_to(rpc, header.number)
                return
            await self._apply(header, events, verified=True)
            return
        if header.number == head.number + 1:
            await self.resolve_reorg(rpc)
        await self.sync_to(rpc, header.number)

    # --- reorgs ---------------------------------------------------------------------------------

    async def resolve_reorg(self, rpc: Rpc) -> Rollback | None:
        """Roll back to the highest held block that is still canonical; None if all is well."""
        head = self.book.head
        oldest = self.book.oldest_rollback_target()
        if head is None or oldest is None:
            return None
        held = [n for n in range(head.number, oldest - 1, -1) if self.book.hash_at(n)]
        canonical = await self._headers(rpc, held)
        ancestor = None
        replaced = 0  # held blocks for which the endpoint has another block
        for n in held:
            h = canonical.get(n)
            if h is None:
                continue  # the endpoint has not seen this height (yet): proves nothing
            if h.hash == self.book.hash_at(n):
                ancestor = n
                break
            replaced += 1
        if ancestor == head.number:
            return None
        if not replaced:
            # Nothing we hold is contradicted: the endpoint is behind us (a lagging fallback),
            # or the chain went back to a shorter one that has not grown a new block yet. Either
            # way we wait: its next blocks extend ours or show the reorg.
            behind = head.number - ancestor if ancestor is not None else len(held)
            log.info(
                "%s is %d block(s) behind our head %d; waiting for it",
                rpc.name,
                behind,
                head.number,
            )
            return None
        if ancestor is None:
            raise ReorgTooDeep(
                f"none of blocks {oldest}..{head.number} is canonical any more: the reorg is "
                f"deeper than chain.reorg_window ({self.window}), or the endpoint serves another "
                "chain. The store must be rebuilt from an earlier block."
            )
        rb = self.book.rollback_to(ancestor)
        self.assembler.clear()
        await self.sink.rollback(rb)
        self.metrics.reorgs += 1
        self.metrics.reorged_blocks += rb.blocks_removed
        log.warning(
            "reorg: rolled back %d block(s) from %d to %d (%s)",
            rb.blocks_removed,
            head.number,
            rb.header.number,
            rb.header.hash[:10],
        )
        if self.on_rollback is not None:
            self.on_rollback(rb)
        return rb


__all__ = ["ChainMoved", "Follower", "NotContiguous", "Rpc", "Sink"]
