"""``edge-ops runbook NAME`` (a person runs a runbook) and ``edge-ops incident-report SEVERITY
"description"`` (a report by hand, seed 001's ``incident-report.sh``).

The settings are the function's (``EDGE_OPS_NODE_URL``, ``EDGE_OPS_API_TOKEN`` or
``EDGE_OPS_API_TOKEN_SECRET_ID``, ``EDGE_OPS_STOP_PARAMETER``, ``EDGE_OPS_INCIDENTS_TO``, ...),
and options override the common ones. With ``--alarm`` the run obeys the function's rules (acts
only while that alarm is in ALARM, one run at a time); without it, a person's decision acts at
once.
"""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from typing import Any

import click

from functions.cli.output import EXIT_FAILURE, emit, json_option
from functions.runbook.runner import RUNBOOKS


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:operator"


def _settings(**overrides: Any) -> Any:
    from functions.common.settings import load_settings
    from functions.runbook.settings import RunbookSettings

    base = load_settings(RunbookSettings)
    given = {k: v for k, v in overrides.items() if v is not None}
    return base.model_copy(update=given) if given else base


@click.command("runbook")
@click.argument("name", type=click.Choice(RUNBOOKS))
@click.option("--reason", default="run by an operator", show_default=True, help="Why (audited).")
@click.option("--alarm", help="Act only while this CloudWatch alarm is in ALARM (with its lock).")
@click.option("--node-url", help="The node's API (default: EDGE_OPS_NODE_URL).")
@click.option("--db", "db_url", help="Store URL for the audit log (EDGE_OPS_DATABASE_URL).")
@click.option("--incidents-to", metavar="s3://BUCKET/PREFIX", help="Where the report goes.")
@json_option
def runbook(
    name: str,
    reason: str,
    alarm: str | None,
    node_url: str | None,
    db_url: str | None,
    incidents_to: str | None,
    as_json: bool,
) -> None:
    """Run a runbook now: pause-trading, emergency-stop, node-down or prune.

    Does what the alarm-triggered function does, writes the node's audit log and an incident
    report, and announces it through the fan-out. Exit 1 when the action did not take effect
    (the announcement then went out as critical)."""
    from pydantic import SecretStr

    from functions.common.aws import AwsClients, AwsOptions
    from functions.runbook import context, runner
    from functions.runbook.trigger import by_person

    settings = _settings(
        node_url=node_url,
        incidents_to=incidents_to,
        database_url=SecretStr(db_url) if db_url else None,  # wins over a secret id
    )
    aws = AwsClients(AwsOptions.from_settings(settings))
    ctx = context.build(settings, aws, _actor(), need_store=True)
    trigger = by_person(alarm, reason, datetime.now(UTC).isoformat())
    try:
        result = runner.run(name, trigger, ctx, gated=alarm is not None)
    finally:
        if ctx.store is not None:
            ctx.store.dispose()
    emit(result.as_dict(), as_json, lambda: _human(result.as_dict()))
    if result.acted and not result.ok:
        sys.exit(EXIT_FAILURE)


def _human(r: dict[str, Any]) -> str:
    if r["skipped"]:
        return f"{r['runbook']}: nothing done: {r['skipped']}"
    lines = [f"{r['runbook']}: {'ok' if r['ok'] else 'FAILED'}: {r['summary']}"]
    if r["escalated"]:
        lines.append("escalated: a critical alert went out")
    lines.append(f"incident report: {r['report'] or '(not written)'}")
    lines.append(f"audit log: {'written' if r['audited'] else 'not written'}")
    lines.append(f"announced: {len(r['announced'])} message(s)")
    lines += [f"warning: {p}" for p in r["problems"]]
    return "\n".join(lines)


@click.command("incident-report")
@click.argument("severity")
@click.argument("description")
@click.option("--to", "incidents_to", metavar="s3://BUCKET/PREFIX", help="EDGE_OPS_INCIDENTS_TO.")
@click.option("--action", "actions", multiple=True, help="An action taken (repeatable).")
@json_option
def incident_report(
    severity: str,
    description: str,
    incidents_to: str | None,
    actions: tuple[str, ...],
    as_json: bool,
) -> None:
    """Write an incident report by hand (seed 001's template) to S3: SEVERITY is S1-S4, P0-P3
    or critical/high/medium/low."""
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.errors import BadInput
    from functions.common.s3url import S3Location
    from functions.runbook import incident

    level = incident.parse_severity(severity)
    if not description.strip():
        raise BadInput("the description is empty: say what happened")
    settings = _settings(incidents_to=incidents_to)
    if not settings.incidents_to:
        raise BadInput("where to? give --to s3://BUCKET/PREFIX or set EDGE_OPS_INCIDENTS_TO")
    where = S3Location.parse(settings.incidents_to, require_prefix=True)
    now = datetime.now(UTC)
    report = incident.IncidentReport(level, description.strip(), _actor(), now)
    report.note("reported by hand", f"by {_actor()}", at=now)
    for a in actions:
        report.note(a, "done (as reported)", at=now)
    aws = AwsClients(AwsOptions.from_settings(settings))
    try:
        written = incident.write(aws.s3, where, report)
    except Exception as err:
        from functions.common.aws import error_code
        from functions.common.errors import Unavailable

        why = error_code(err) or err
        raise Unavailable(f"could not write the report to {where}: {why}") from err
    emit(
        {"ok": True, "severity": level, "report": written.url, "link": written.link},
        as_json,
        f"incident report written: {written.url}",
    )
