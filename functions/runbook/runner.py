"""One runbook run, whatever started it: gate, act, report, audit, announce, remember.

1. Gate (an alarm named): take the alarm's lock, skip a state change already handled, skip
   an alarm no longer in ALARM (read from CloudWatch now, not from the event).
2. Act (``acts.ACTS``), every step with its time and result in the incident report.
3. Write the incident report to S3; 4. the audit log row (the store); 5. announce through
   the fan-out with the report's link (critical when the action failed or must escalate);
6. remember the state change as handled, release the lock.

A step after the action that fails (S3, the store, SNS) does not undo the action and does not
hide it: it is in the result, the announcement or the log, and the run fails at the end only
if nothing could be told to anyone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput, OpsError, Unavailable
from functions.runbook import acts, announce, audit, gate, incident
from functions.runbook.incident import FANOUT_SEVERITY, IncidentReport

if TYPE_CHECKING:
    from functions.runbook.context import Context
    from functions.runbook.trigger import Trigger

log = logging.getLogger(__name__)

RUNBOOKS = tuple(acts.ACTS)
DESCRIPTIONS = {
    "pause-trading": "RPC lag or stale market data: trading paused",
    "emergency-stop": "loss limit, paper-trading violation or suspected key compromise: "
    "emergency stop",
    "node-down": "the node's /healthz is failing: restart",
    "prune": "the database or its disk is growing: prune",
}


class NotifyFailed(Unavailable):
    """The action ran but nobody could be told (no report, no announcement): look at the log."""


@dataclass
class RunResult:
    runbook: str
    trigger: dict[str, Any]
    acted: bool
    skipped: str | None = None
    ok: bool = True
    summary: str = ""
    escalated: bool = False
    report: str | None = None
    report_link: str | None = None
    audited: bool = False
    announced: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "runbook": self.runbook,
            "trigger": self.trigger,
            "acted": self.acted,
            "skipped": self.skipped,
            "ok": self.ok,
            "summary": self.summary,
            "escalated": self.escalated,
            "report": self.report,
            "audited": self.audited,
            "announced": self.announced,
            "problems": self.problems,
            "facts": self.facts,
        }


def run(name: str, trigger: Trigger, ctx: Context, *, gated: bool = True) -> RunResult:
    """``gated``: the function's rules (alarm state, lock, once); a person may run ungated."""
    if name not in acts.ACTS:
        raise BadInput(f"unknown runbook {name!r} (known: {', '.join(RUNBOOKS)})")
    result = RunResult(name, trigger.as_dict(), acted=False)
    if trigger.alarm is None or not gated:
        return _act(name, trigger, ctx, result)
    if trigger.runbook is not None and trigger.runbook != name:
        # Alertmanager routes by receiver, not by runbook: an alert for another runbook (or
        # none) reaching this one is not this one's to act on.
        named = f"runbook {trigger.runbook!r}" if trigger.runbook else "no runbook"
        result.skipped = f"alert {trigger.alarm} names {named}, not {name!r}"
        return result
    table = ctx.settings.runbook_table
    if not table:
        raise BadInput("EDGE_OPS_RUNBOOK_TABLE is not set: a runbook on an alarm needs its lock")
    locks = gate.Locks(ctx.aws.dynamodb, table)
    owner = locks.acquire(trigger.alarm, ctx.settings.lock_ttl_s, ctx.clock())
    if owner is None:
        result.skipped = f"another run is acting on {trigger.alarm}"
        return result
    try:
        if trigger.source != "person" and locks.done(trigger.key) is not None:
            result.skipped = f"this state change of {trigger.alarm} was handled already"
            return result
        if trigger.source == "alertmanager":
            # A Prometheus alert has no CloudWatch state: the webhook's status is the newest.
            state, firing = trigger.state, trigger.state == "firing"
        else:
            state, _since = gate.alarm_state(ctx.aws.cloudwatch, trigger.alarm)
            firing = state == "ALARM"
        if not firing:
            result.skipped = f"{trigger.alarm} is {state} now: nothing to do"
            return result
        _act(name, trigger, ctx, result)
        if trigger.source != "person":
            locks.record_done(trigger.key, result.as_dict(), ctx.clock())
        return result
    finally:
        locks.release(trigger.alarm, owner)


def _act(name: str, trigger: Trigger, ctx: Context, result: RunResult) -> RunResult:
    detected = (
        datetime.fromtimestamp(ctx.clock(), UTC)
        if trigger.source == "person"
        else _time_or_now(trigger.changed_at, ctx)
    )
    report = IncidentReport(
        severity="S2",
        description=f"{DESCRIPTIONS[name]} ({trigger.reason})"[:1000],
        reporter=ctx.actor,
        detected_at=detected,
        runbook=name,
        alarm=trigger.alarm,
    )
    if trigger.value is not None:
        report.metrics["alarm_value"] = trigger.value
    if trigger.threshold is not None:
        report.metrics["alarm_threshold"] = trigger.threshold
    report.note(
        "runbook started", f"{name} by {ctx.actor} ({trigger.source}: {trigger.alarm or '-'})"
    )
    try:
        outcome = acts.ACTS[name](ctx, report, trigger)
    except OpsError as err:
        report.note(f"{name} failed", str(err), ok=False)
        outcome = acts.Outcome(False, f"{name} failed: {err}", escalate=True)
    except Exception as err:  # a bug or an unexpected refusal: still reported and announced
        log.exception("runbook %s failed", name)
        report.note(f"{name} failed", f"{type(err).__name__}: {err}", ok=False)
        outcome = acts.Outcome(False, f"{name} failed: {type(err).__name__}", escalate=True)
    result.acted = True
    result.ok, result.summary, result.facts = outcome.ok, outcome.summary, outcome.facts
    result.escalated = outcome.escalate
    if outcome.escalate:
        report.severity = "S1"
    report.outcome = outcome.summary
    _write_report(ctx, report, result)
    _audit(ctx, name, trigger, report, result)
    _announce(ctx, name, trigger, report, result)
    if not result.report and not result.announced:
        raise NotifyFailed(
            f"runbook {name}: {result.summary}; but neither the report nor the announcement "
            f"went out: {'; '.join(result.problems)}"
        )
    return result


def _time_or_now(text: str, ctx: Context) -> datetime:
    from functions.runbook.trigger import parse_time

    try:
        return parse_time(text)
    except ValueError:
        return datetime.fromtimestamp(ctx.clock(), UTC)


def _write_report(ctx: Context, report: IncidentReport, result: RunResult) -> None:
    try:
        where = ctx.incidents()
        if where is None:
            result.problems.append("no incident location (EDGE_OPS_INCIDENTS_TO)")
            return
        written = incident.write(ctx.aws.s3, where, report)
    except Exception as err:
        result.problems.append(f"incident report not written: {err}")
        return
    result.report, result.report_link = written.url, written.link


def _audit(
    ctx: Context, name: str, trigger: Trigger, report: IncidentReport, result: RunResult
) -> None:
    if ctx.store is None:
        result.problems.append("no database: the run is not in the audit log")
        return
    detail = {
        "alarm": trigger.alarm,
        "state_change": trigger.changed_at,
        "ok": result.ok,
        "summary": result.summary,
        "steps": [{"at": s.at.isoformat(), "what": s.what, "result": s.result, "ok": s.ok}
                  for s in report.timeline],
        "report": result.report,
    }  # fmt: skip
    try:
        ctx.store.run(lambda e: audit.write(e, ctx.actor, f"runbook:{name}", detail))
    except Exception as err:
        result.problems.append(f"audit log not written: {err}")
        return
    result.audited = True


def _announce(
    ctx: Context, name: str, trigger: Trigger, report: IncidentReport, result: RunResult
) -> None:
    s = ctx.settings
    severity = FANOUT_SEVERITY[report.severity]
    payload = announce.event(
        runbook=name,
        summary=result.summary,
        severity=severity,
        resource=trigger.alarm or "manual",
        actions=[f"{st.what}: {st.result}" for st in report.actions],
        link=result.report_link,
        details={
            "alarm": trigger.alarm or "-",
            "report": result.report or "-",
            "actor": ctx.actor,
        },
        key=f"{trigger.key}|{name}",
        description=report.description,
        value=trigger.value,
        threshold=trigger.threshold,
    )
    topics = [t for t in (s.notify_topic_arn,) if t]
    if severity == "critical" and s.escalate_topic_arn:
        topics.append(s.escalate_topic_arn)
    if not topics:
        result.problems.append("no topic to announce on (EDGE_OPS_NOTIFY_TOPIC_ARN)")
        return
    for topic in topics:
        try:
            result.announced.append(announce.publish(ctx.aws.sns, topic, payload))
        except Exception as err:
            result.problems.append(f"not announced on {topic.rsplit(':', 1)[-1]}: {err}")
