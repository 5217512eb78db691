"""The four runbooks' actions. Each records its steps (with times and results) in the incident
report and says how it ended; the runner around them gates, audits, reports and announces.

- pause-trading (RPC lag, market data stale): pause through the API, or the remote and
  database flags when the API does not take it. Resuming is left to an operator.
- emergency-stop (loss limit, paper-trading violation, suspected key compromise): every
  surface, then wait until /health shows the stop, and record how long that took.
- node-down (/healthz failing): restart the service through SSM Run Command, wait for
  /healthz; if it does not come back, escalate to critical.
- prune (database above 1000 MB, disk above 70%): functions/prune's run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput
from shared import remote_control
from shared.node_api import ApiUnreachable

if TYPE_CHECKING:
    from collections.abc import Callable

    from functions.runbook.context import Context
    from functions.runbook.incident import IncidentReport
    from functions.runbook.trigger import Trigger


@dataclass
class Outcome:
    ok: bool  # the action took effect
    summary: str  # one line for the alert
    escalate: bool = False  # a person must act now (critical)
    facts: dict[str, Any] = field(default_factory=dict)


def _at(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _reason(name: str, trigger: Trigger) -> str:
    what = f"alarm {trigger.alarm}" if trigger.alarm else "by hand"
    return f"runbook {name} ({what}): {trigger.reason}"[:480]


def snapshot(ctx: Context, report: IncidentReport) -> dict[str, Any] | None:
    """The node's figures at the time, into the report's metrics; /health itself."""
    health = ctx.health()
    if health is None:
        report.metrics["node_health"] = "no answer from /health"
        return None
    chain = health.get("chain") or {}
    trading = health.get("trading") or {}
    control = trading.get("control") or {}
    report.metrics.update(
        {
            "node_status": health.get("status"),
            "last_processed_block": chain.get("last_processed_block"),
            "last_block_age_seconds": chain.get("last_block_age_seconds"),
            "head_lag_blocks": chain.get("head_lag_blocks"),
            "trading_mode": trading.get("mode"),
            "trading_state": control.get("state"),
            "daily_pnl": (trading.get("risk") or {}).get("daily_pnl"),
        }
    )
    return health


def _surface_steps(report: IncidentReport, verb: str, results: list[Any]) -> None:
    for r in results:
        report.note(f"{verb} via {r.surface}", r.detail, r.ok, at=_at(r.at))


def pause_trading(ctx: Context, report: IncidentReport, trigger: Trigger) -> Outcome:
    report.severity = "S2"
    snapshot(ctx, report)
    results = remote_control.pause(ctx.surfaces(), ctx.actor, _reason("pause-trading", trigger))
    _surface_steps(report, "pause", results)
    took = [r for r in results if r.ok]
    if not took:
        return Outcome(False, "could not pause trading through any surface", escalate=True)
    how = ", ".join(r.surface for r in took)
    via_flags = took[0].surface != remote_control.API
    summary = f"trading paused ({how})" + (
        "; the node applies the flag within its poll interval" if via_flags else ""
    )
    return Outcome(True, summary + "; resuming is an operator's decision (edge-node resume)")


def _state_of(health: dict[str, Any] | None) -> str | None:
    trading = (health or {}).get("trading") or {}
    state = (trading.get("control") or {}).get("state")
    return str(state) if state is not None else None


def emergency_stop(ctx: Context, report: IncidentReport, trigger: Trigger) -> Outcome:
    report.severity = "S1"
    snapshot(ctx, report)
    started = ctx.clock()
    results = remote_control.emergency_stop(
        ctx.surfaces(), ctx.actor, _reason("emergency-stop", trigger)
    )
    _surface_steps(report, "emergency stop", results)
    facts: dict[str, Any] = {"surfaces": {r.surface: r.ok for r in results}}
    api = next((r for r in results if r.surface == remote_control.API), None)
    if api is not None and api.answer and "halted_in_ms" in api.answer:
        facts["halted_in_ms"] = api.answer["halted_in_ms"]
    if not remote_control.took_effect(results):
        return Outcome(False, "EMERGENCY STOP NOT APPLIED: no surface took it", True, facts)
    seen = ctx.wait_until(
        lambda: _state_of(ctx.health()) == "stopped", ctx.settings.confirm_within_s
    )
    if seen is None:
        report.note(
            "confirm from /health",
            f"the node did not show 'stopped' within {ctx.settings.confirm_within_s:g} s",
            ok=False,
        )
        return Outcome(False, "emergency stop asked but NOT CONFIRMED by /health", True, facts)
    confirmed = ctx.clock() - started
    facts["confirmed_after_s"] = round(confirmed, 3)
    report.metrics["stop_confirmed_after_s"] = round(confirmed, 3)
    report.note("confirm from /health", f"trading stopped, confirmed {confirmed:.2f} s after")
    return Outcome(True, f"emergency stop confirmed by /health in {confirmed:.2f} s", facts=facts)


def _healthz_ok(ctx: Context) -> bool:
    if ctx.api is None:
        return False
    try:
        code, body = ctx.api.healthz()
    except ApiUnreachable:
        return False
    return code == 200 and body.get("status") == "ok"


def _command_status(ctx: Context, command_id: str, instance: str) -> str:
    try:
        answer = ctx.aws.ssm.get_command_invocation(CommandId=command_id, InstanceId=instance)
    except Exception as err:  # not yet registered, or SSM unreachable: not fatal
        return f"unknown ({type(err).__name__})"
    return str(answer["Status"])


def node_down(ctx: Context, report: IncidentReport, trigger: Trigger) -> Outcome:
    s = ctx.settings
    report.severity = "S2"
    if ctx.api is None:
        raise BadInput("EDGE_OPS_NODE_URL is not set: the runbook cannot check the node")
    if _healthz_ok(ctx):
        report.note("check /healthz", "the node answers ok: not restarted")
        return Outcome(True, "the node answers /healthz again: nothing restarted")
    report.note("check /healthz", "no healthy answer", ok=False)
    if not s.edge_instance_id:
        raise BadInput("EDGE_OPS_EDGE_INSTANCE_ID is not set: the runbook cannot restart")
    try:
        sent = ctx.aws.ssm.send_command(
            InstanceIds=[s.edge_instance_id],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": [s.restart_command]},
            Comment=f"runbook node-down: {trigger.alarm or 'by hand'}"[:100],
            TimeoutSeconds=60,
        )
    except Exception as err:
        report.note("restart through SSM Run Command", f"refused: {err}", ok=False)
        report.severity = "S1"
        return Outcome(False, "the restart could not be sent: ESCALATED", escalate=True)
    command_id = sent["Command"]["CommandId"]
    report.note(
        "restart through SSM Run Command",
        f"sent `{s.restart_command}` to {s.edge_instance_id} (command {command_id})",
    )
    back = ctx.wait_until(lambda: _healthz_ok(ctx), s.restart_wait_s)
    status = _command_status(ctx, command_id, s.edge_instance_id)
    facts: dict[str, Any] = {"command_id": command_id, "command_status": status}
    if back is None:
        report.severity = "S1"
        report.note(
            "confirm /healthz",
            f"not healthy {s.restart_wait_s:g} s after the restart (command {status})",
            ok=False,
        )
        summary = f"the node did not come back within {s.restart_wait_s:g} s: ESCALATED"
        return Outcome(False, summary, escalate=True, facts=facts)
    facts["back_after_s"] = round(back, 3)
    report.metrics["healthy_after_restart_s"] = round(back, 3)
    report.note("confirm /healthz", f"healthy {back:.1f} s after the restart")
    snapshot(ctx, report)
    return Outcome(True, f"the node was restarted and is healthy after {back:.1f} s", facts=facts)


def prune(ctx: Context, report: IncidentReport, trigger: Trigger) -> Outcome:
    from functions.common.s3url import S3Location
    from functions.prune import service

    s = ctx.settings
    report.severity = "S3"
    if ctx.store is None:
        raise BadInput("no database: set EDGE_OPS_DATABASE_URL or EDGE_OPS_DATABASE_SECRET_ID")
    if not s.prune_archive_to:
        raise BadInput("EDGE_OPS_PRUNE_ARCHIVE_TO is not set: where would old rows go?")
    dest = S3Location.parse(s.prune_archive_to, require_prefix=True)
    result = service.run(
        ctx.store,
        ctx.aws.s3,
        dest,
        now=_at(ctx.clock()),
        older_than=service.parse_age(s.prune_older_than),
        batch_size=s.prune_batch_size,
    )
    before = round(result["database_size_bytes_before"] / 2**20, 3)
    after = result[service.DATABASE_SIZE_MB]
    report.metrics.update({"database_size_mb_before": before, "database_size_mb": after})
    report.note(
        "prune (archive to S3, delete, VACUUM ANALYZE)",
        f"{result['rows']} rows older than {s.prune_older_than} archived to {result['archive']}",
    )
    facts = {"rows": result["rows"], "database_size_mb": after}
    return Outcome(True, f"pruned {result['rows']} rows: {before} MB -> {after} MB", facts=facts)


ACTS: dict[str, Callable[[Context, IncidentReport, Trigger], Outcome]] = {
    "pause-trading": pause_trading,
    "emergency-stop": emergency_stop,
    "node-down": node_down,
    "prune": prune,
}
NEEDS_STORE = {"pause-trading", "emergency-stop", "node-down", "prune"}  # all audit in the store
