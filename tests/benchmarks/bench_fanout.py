"""Benchmark: the alert fan-out, an alarm in to the last local sink's request.

1,000 critical CloudWatch alarms (each to PagerDuty, Slack and Telegram), every one delivered
twice by "SNS" (the duplicate comes later, in shuffled order, as SNS redeliveries do), into
local HTTP servers answering at once:

- ``ours``: the fan-out core (parse, route, the channels in parallel, the once-gate on a
  DynamoDB table in moto, in this process);
- ``baseline_naive_urllib``: what terraform-aws-notify-slack-style senders do: parse, then
  ``urllib.request.urlopen`` each channel in turn, no dedupe.

Latency per alert: from the event handed in to the arrival of its last channel's request at
the sinks (first delivery only). ``duplicates``: requests beyond one per (alert, channel);
``lost``: (alert, channel) pairs never received. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import statistics
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from typing import Any

TARGET_P99_MS = 1000.0
NAME_RE = re.compile(r"bench-alarm-\d+")


def _events(n: int) -> list[dict[str, Any]]:
    from tests.functions.fanout.recorded import recorded

    template = recorded("sns_cloudwatch_alarm")
    out = []
    for i in range(n):
        ev = copy.deepcopy(template)
        sns = ev["Records"][0]["Sns"]
        msg = json.loads(sns["Message"])
        msg["AlarmName"] = f"bench-alarm-{i:05d}"
        msg["StateChangeTime"] = f"2026-12-02T03:{i // 60 % 60:02d}:{i % 60:02d}.000+0000"
        sns["Message"] = json.dumps(msg)
        sns["MessageId"] = f"bench-{i:05d}"
        out.append(ev)
    return out


def _schedule(events: list[dict[str, Any]], seed: int) -> list[tuple[int, dict[str, Any]]]:
    """Each event twice; a duplicate always after its original, at a random later place."""
    order = [(i, ev) for i, ev in enumerate(events)]
    rng = random.Random(seed)
    dupes = list(order)
    rng.shuffle(dupes)
    merged: list[tuple[int, dict[str, Any]]] = []
    seen: set[int] = set()
    pending: list[tuple[int, dict[str, Any]]] = []
    for item in order:
        merged.append(item)
        seen.add(item[0])
        while dupes and dupes[0][0] in seen:
            pending.append(dupes.pop(0))
        if pending and rng.random() < 0.5:
            merged.append(pending.pop(0))
    merged.extend(pending)
    merged.extend(dupes)
    return merged


def _name_of(body: Any) -> str | None:
    m = NAME_RE.search(json.dumps(body))
    return m.group(0) if m else None


def run_side(
    build_sender: Callable[[Any], Callable[[dict[str, Any]], None]],
    schedule: list[tuple[int, dict[str, Any]]],
    n: int,
) -> dict[str, Any]:
    from tests.functions.fanout.sinks import running_sinks

    with running_sinks() as sinks:
        send = build_sender(sinks)
        started: dict[int, float] = {}
        t_all = time.perf_counter()
        for i, ev in schedule:
            t0 = time.perf_counter()
            started.setdefault(i, t0)
            send(ev)
        elapsed = time.perf_counter() - t_all
        arrivals: dict[str, list[float]] = {}
        pairs: Counter[tuple[str, str]] = Counter()
        for sink in sinks.all():
            for seen in sink.requests:
                name = _name_of(seen.body)
                if name is None:
                    continue
                pairs[(name, sink.name)] += 1
                arrivals.setdefault(name, []).append(seen.at)
    latencies = []
    for i in range(n):
        name = f"bench-alarm-{i:05d}"
        times = sorted(arrivals.get(name, []))
        if len(times) >= 3:
            # the first arrival per channel is the first delivery's; its last is "delivered"
            latencies.append((times[2] - started[i]) * 1000)
    expected = {(f"bench-alarm-{i:05d}", ch) for i in range(n) for ch in CHANNELS}
    lost = sum(1 for p in expected if pairs[p] == 0)
    duplicates = sum(c - 1 for c in pairs.values() if c > 1)
    latencies.sort()
    return {
        "alerts": n,
        "deliveries_in": len(schedule),
        "requests": sum(pairs.values()),
        "delivered_once": sum(1 for p in expected if pairs[p] == 1),
        "duplicates": duplicates,
        "lost": lost,
        "p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 2) if latencies else None,
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "wall_s": round(elapsed, 2),
    }


CHANNELS = ("slack", "pagerduty", "telegram")


def ours(gate_kind: str) -> Callable[[Any], Callable[[dict[str, Any]], None]]:
    def build(sinks: Any) -> Callable[[dict[str, Any]], None]:
        from functions.fanout.core import fan_out
        from functions.fanout.delivery import MemoryGate, OnceGate
        from functions.fanout.once import DynamoDBGate
        from functions.fanout.retry import RetryPolicy
        from tests.functions.fanout.harness import build as build_fanout

        gate: OnceGate
        if gate_kind == "dynamodb":
            import boto3

            client = boto3.client("dynamodb", region_name="us-east-1")
            client.create_table(
                TableName="bench-idem",
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            gate = DynamoDBGate("bench-idem", client)
        else:
            gate = MemoryGate()
        policy = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=1.0, timeout=5.0)
        fanout = build_fanout(sinks, gate=gate, policy=policy, real_sleep=True).fanout

        def send(ev: dict[str, Any]) -> None:
            fan_out(ev, fanout, budget_s=60)

        return send

    return build


def naive(sinks: Any) -> Callable[[dict[str, Any]], None]:
    from tests.functions.fanout.harness import BOT_TOKEN, ROUTING_KEY, SLACK_PATH

    def post(url: str, payload: dict[str, Any]) -> None:
        req = urllib.request.Request(  # noqa: S310 (local sinks)
            url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            resp.read()

    def send(ev: dict[str, Any]) -> None:
        for record in ev["Records"]:
            msg = json.loads(record["Sns"]["Message"])
            text = f"{msg['NewStateValue']}: {msg['AlarmName']} {msg.get('NewStateReason', '')}"
            post(sinks.slack.url + SLACK_PATH, {"text": text})
            post(
                sinks.pagerduty.url + "/v2/enqueue",
                {
                    "routing_key": ROUTING_KEY,
                    "event_action": "trigger",
                    "dedup_key": msg["AlarmName"],
                    "payload": {"summary": text, "source": "x", "severity": "critical"},
                },
            )
            post(
                f"{sinks.telegram.url}/bot{BOT_TOKEN}/sendMessage",
                {"chat_id": "1", "text": text},
            )

    return send


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--alerts", type=int, default=1000)
    ap.add_argument("--gate", choices=["dynamodb", "memory"], default="dynamodb")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    for k, v in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_IDEMPOTENCY_DISABLED": "false",
    }.items():
        os.environ[k] = v
    import warnings

    warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")
    from moto import mock_aws

    events = _events(args.alerts)
    schedule = _schedule(events, args.seed)
    with mock_aws():
        ours_result = run_side(ours(args.gate), schedule, args.alerts)
    base = run_side(naive, schedule, args.alerts)
    print(
        json.dumps(
            {
                "benchmark": "fanout",
                "alerts": args.alerts,
                "channels_per_alert": len(CHANNELS),
                "each_sent_twice": True,
                "gate": f"{args.gate} (moto, in process)" if args.gate == "dynamodb" else "memory",
                "ours": ours_result,
                "baseline_naive_urllib": base,
                "target": {"p99_ms": TARGET_P99_MS, "duplicates": 0, "lost": 0},
                "meets_target": bool(
                    ours_result["p99_ms"] is not None
                    and ours_result["p99_ms"] < TARGET_P99_MS
                    and ours_result["duplicates"] == 0
                    and ours_result["lost"] == 0
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
