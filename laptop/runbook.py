"""Alertmanager's webhook into the runbook functions (functions/runbook): the deployed runbooks
are started by CloudWatch alarms, whose shape Alertmanager does not post, so the laptop reads
each firing alert as the runbook's ``Trigger`` and runs the real runbook core with it.

It runs ungated: the gate checks a CloudWatch alarm's state and takes its DynamoDB lock, and a
Prometheus alert has neither. Its settings come from the stack's environment with neither the
node's URL nor its database, so the pause goes through the remote flag alone (the SSM parameter
in moto, which the node polls), as when the runbook cannot reach the node's API and the
database flag is not written; the API and database paths are proven in
tests/functions/runbook/test_on_a_node.py. (Without the database, the run is not in the audit
log; the incident report says what was done.) Resolutions change nothing: trading is resumed by an
operator, never by an alert going away.
"""

from __future__ import annotations

from typing import Any

from functions.runbook.trigger import Trigger


def triggers(payload: dict[str, Any]) -> list[Trigger]:
    """One trigger per firing alert of an Alertmanager webhook (version 4)."""
    out = []
    for alert in payload.get("alerts") or []:
        if not isinstance(alert, dict) or alert.get("status") != "firing":
            continue
        labels = alert.get("labels") or {}
        annotations = alert.get("annotations") or {}
        out.append(
            Trigger(
                alarm=str(labels.get("alertname") or "unnamed alert"),
                state="ALARM",
                changed_at=str(alert.get("startsAt") or ""),
                reason=str(annotations.get("summary") or annotations.get("description") or ""),
                source="alertmanager",
                description=str(annotations.get("description") or ""),
                metric={"labels": dict(labels)},
            )
        )
    return out


def run_runbook(name: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    from functions.common.aws import AwsClients, AwsOptions
    from functions.runbook import context, runner
    from functions.runbook.settings import RunbookSettings

    # the node's API and database left out on purpose: the SSM flag path (module docstring)
    settings = RunbookSettings(node_url=None, api_token=None, api_token_secret_id=None)
    aws = AwsClients(AwsOptions.from_settings(settings))
    results = []
    for trigger in triggers(payload):
        ctx = context.build(settings, aws, f"runbook:{name}", need_store=False)
        try:
            results.append(runner.run(name, trigger, ctx, gated=False).as_dict())
        finally:
            if ctx.store is not None:
                ctx.store.dispose()
    return results
