"""The whole health probe's duration with one RPC endpoint that never answers, beside a baseline
measured in the same run: the same checks, one after the other. Prints one JSON object.

Stand-ins on loopback: the node (/healthz, /health), ``--endpoints`` JSON-RPC endpoints that
answer after ``--delay-ms`` (a remote provider's round trip), one TCP server that accepts and
stays silent, and a backups' listing that takes ``--delay-ms`` too. Target (issue 9): the probe
finishes under its deadline, bounded by the per-call timeout rather than the sum of the calls,
and every check that could answer is still measured.

    .venv/bin/python tests/benchmarks/bench_probe.py [--endpoints 4] [--delay-ms 150] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from functions.probe.checks import BackupReading, Report  # noqa: E402 (after the path is set)
from functions.probe.run import Limits, Target, probe  # noqa: E402
from functions.probe.settings import Thresholds  # noqa: E402
from tests.functions.probe.servers import (  # noqa: E402
    TOKEN,
    NodeState,
    RpcState,
    fake_node,
    fake_rpc,
    silent_endpoint,
)


def _summary(reports: list[Report], limits: Limits) -> dict[str, Any]:
    durations = [r.duration_ms for r in reports]
    last = reports[-1]
    answered = [c for c in last.checks if c.target != "silent"]
    return {
        "runs": len(reports),
        "duration_ms_median": round(statistics.median(durations), 1),
        "duration_ms_max": round(max(durations), 1),
        "under_deadline": max(durations) < limits.deadline_s * 1000,
        "checks": len(last.checks),
        "others_measured_ok": sum(c.ok for c in answered),
        "others": len(answered),
        "silent_reported_as": next(c.detail for c in last.checks if c.target == "silent"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=4)
    parser.add_argument("--delay-ms", type=float, default=150.0)
    parser.add_argument("--timeout-s", type=float, default=2.0)
    parser.add_argument("--deadline-s", type=float, default=20.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    delay = args.delay_ms / 1000
    limits = Limits(call_timeout_s=args.timeout_s, deadline_s=args.deadline_s)
    node_state = NodeState(delay_s=delay / 3)

    def backup() -> BackupReading:
        time.sleep(delay)
        return BackupReading(age_s=3600.0, backup_id="20261130T020000Z-abcdef")

    with ExitStack() as stack:
        node_url = stack.enter_context(fake_node(node_state))
        endpoints = {
            f"rpc-{i}": stack.enter_context(fake_rpc(RpcState(head=1000, delay_s=delay)))
            for i in range(args.endpoints)
        }
        endpoints["silent"] = stack.enter_context(silent_endpoint())
        # the health answer's block matches the endpoints' head
        node_state.health["chain"]["last_processed_block"] = 1000
        target = Target("bench", node_url, lambda _f: TOKEN, lambda: endpoints, backup)
        ours, baseline = [], []
        for _ in range(args.runs):
            ours.append(probe(target, Thresholds(), limits))
            baseline.append(probe(target, Thresholds(), limits, sequential=True))
    result: dict[str, Any] = {
        "scenario": {
            "endpoints_answering": args.endpoints,
            "endpoints_silent": 1,
            "answer_delay_ms": args.delay_ms,
            "call_timeout_s": args.timeout_s,
            "deadline_s": args.deadline_s,
        },
        "ours_concurrent": _summary(ours, limits),
        "baseline_sequential": _summary(baseline, limits),
    }
    o, b = result["ours_concurrent"], result["baseline_sequential"]
    result["speedup"] = round(b["duration_ms_median"] / o["duration_ms_median"], 2)
    result["meets_target"] = bool(o["under_deadline"] and o["others_measured_ok"] == o["others"])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
