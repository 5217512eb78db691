"""An alert delivered through SNS into a runbook function (functions/runbook), as the deployed
function takes it: the Lambda SNS event (laptop/receivers.py) read by the function's own
``parse_trigger`` (the alert in the message attributes the edge host's Alertmanager writes,
shared/alert_notice.py) and each trigger run through the gated runner, as the Lambda handler
does.

So the laptop runs the deployed rules too: the subscription's filter policy lets through only
firing alerts naming this runbook (laptop/subscriptions.py), and the function acts only on an
alert naming it, only while it fires, once per alert fingerprint and ``startsAt`` (the lock and
once-records in moto's DynamoDB table, ``EDGE_OPS_RUNBOOK_TABLE``, made by laptop/aws.py); a
repeat of the same firing alert or a redelivery does nothing.

Its settings are the deployed function's (infra/functions.py's names, from the stack's
environment: stop parameter, incident location, lock table, topics) less the node's URL, its API
token and its database, left out on purpose: the pause then goes through the remote flag alone
(the SSM parameter in moto, which the node polls), as when the runbook cannot reach the node's
API and the database flag is not written. That is the path only the whole chain can prove; the
API and database paths are proven in tests/functions/runbook/test_on_a_node.py. (Without the
database the run is not in the audit log; the incident report says what was done.) The stack's
environment carries the node's URL and database for the scheduled functions, hence the
override here. Trading is resumed by an operator, never by an alert going away.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.runbook.settings import RunbookSettings

# What the laptop's runbook must not read from the stack's environment (module docstring).
LEFT_OUT = {
    "node_url": None,
    "api_token": None,
    "api_token_secret_id": None,
    "database_url": None,
    "database_secret_id": None,
}


def settings() -> RunbookSettings:
    from functions.common.settings import load_settings
    from functions.runbook.settings import RunbookSettings

    return load_settings(RunbookSettings).model_copy(update=LEFT_OUT)


def run_runbook(name: str, event: dict[str, Any]) -> list[dict[str, Any]]:
    """The runbook ``name`` on a Lambda event (SNS records): one result per alert, acted or
    skipped with the reason (``UnreadableTrigger`` for an event the function refuses)."""
    from functions.common.aws import AwsClients, AwsOptions
    from functions.runbook import context, runner
    from functions.runbook.trigger import parse_trigger

    s = settings()
    aws = AwsClients(AwsOptions.from_settings(s))
    results = []
    for trigger in parse_trigger(event):
        ctx = context.build(s, aws, f"runbook:{name}", need_store=True)
        try:
            results.append(runner.run(name, trigger, ctx, gated=True).as_dict())
        finally:
            if ctx.store is not None:
                ctx.store.dispose()
    return results
