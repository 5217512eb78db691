"""The terminal view of the laptop stack: where everything listens, then one status block
every few seconds (the node's head and trading state, the alerts in Prometheus, the stop flag,
incident reports, the scheduled functions' last runs, the subscriptions' deliveries, what was
parked in the failures queue, and the last messages the chat stand-in received)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from laptop.failures import Parked
from laptop.receivers import Receivers
from laptop.scheduler import Run, Scheduler
from laptop.stack import Stack


def intro_text(stack: Stack) -> str:
    assert stack.chain and stack.monitoring and stack.chat and stack.control and stack.moto
    r = stack.control.url
    return "\n".join(
        [
            "",
            f"  alerts as the team sees them: {stack.chat.url}/",
            f"  Prometheus:                   {stack.monitoring.prometheus_url}/alerts",
            f"  Alertmanager:                 {stack.monitoring.alertmanager_url}",
            f"  node API:                     http://{stack.chain.api_address}"
            f"  (token {stack.chain.token})",
            f"  moto (AWS):                   {stack.moto.url}",
            f"  cut the RPC endpoint:         curl -XPOST -d{{}} {r}/rpc/cut",
            f"  bring it back:                curl -XPOST -d{{}} {r}/rpc/restore",
            f"  resume trading afterwards:    curl -XPOST -H 'Authorization: Bearer "
            f"{stack.chain.token}' http://{stack.chain.api_address}/admin/resume",
            "",
        ]
    )


def status_text(stack: Stack) -> str:
    assert stack.chain and stack.monitoring and stack.chat and stack.chain.runner
    node = stack.chain.node
    head = node.book.head
    health = node.health()
    age = "-" if health.block_age_s is None else f"{health.block_age_s:.0f}s"
    try:
        alerts = ", ".join(
            f"{a['labels'].get('alertname')} {a['state']}" for a in stack.monitoring.alerts()
        )
    except Exception as err:  # the view must not stop the stack
        alerts = f"unreadable ({type(err).__name__})"
    posts = stack.chat.snapshot()[-3:]
    lines = [
        f"[{time.strftime('%H:%M:%S')}] block {head.number if head else '-'} (age {age}) | "
        f"trading {stack.chain.runner.trading_state()} | stop flag {stack.ssm_flag()} | "
        f"alerts: {alerts or 'none'} | incident reports {len(stack.incident_reports())}"
    ]
    if stack.scheduler is not None:
        lines += runs_text(stack.scheduler)
    if stack.receivers is not None:
        lines += deliveries_text(stack.receivers)
    lines += [f"    {p.channel}: {p.text.splitlines()[0][:120]}" for p in posts if p.text]
    return "\n".join(lines)


def deliveries_text(r: Receivers) -> list[str]:
    """The subscriptions' tally, and each delivery given up on (in the failures queue)."""
    c = r.counts
    tally = (
        f"    deliveries: {c['delivered']} ok, {c['failed']} failed (retried), "
        f"{c['unreadable']} unreadable, {c['returned']} back after handling (deleted), "
        f"{c['sqs_errors']} SQS errors, "
        f"{c['parked']} parked in the failures queue | pollers {r.alive()}/{len(r.subscribed)}"
    )
    return [tally, *parked_text(r.parked)]


def runs_text(s: Scheduler) -> list[str]:
    """The scheduled functions' last runs, and each run given up on (in the failures queue)."""
    sim = s.now().strftime("%Y-%m-%d %H:%M")
    done = "; ".join(run_text(r) for r in list(s.runs)[-4:])
    line = f"    functions (simulated {sim} UTC): {done or 'none run yet'}"
    if s.unsent:
        line += f" | {len(s.unsent)} failed runs not yet parked (SQS failing)"
    return [line, *parked_text(s.parked)]


def run_text(r: Run) -> str:
    if not r.ok:
        outcome = f"FAILED after {r.attempts} tries: {r.detail[:80]}"
    else:
        outcome = "ok" if r.attempts == 1 else f"ok on try {r.attempts}"
    return f"{r.job} {r.sim_time:%m-%d %H:%M} {outcome}"


def parked_text(parked: Iterable[Parked]) -> list[str]:
    """The last three invocations given up on."""
    return [
        f"    PARKED {p.source}: {p.summary} after {p.attempts} tries: {p.error[:100]}"
        for p in list(parked)[-3:]
    ]
