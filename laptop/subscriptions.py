"""The deployed alert subscriptions, made in moto: the plan is
infra/monitoring/subscription_plan.py's (the one infra/alert_subscriptions.py makes in AWS), for
the functions the laptop runs: the fan-out on every severity topic, and each runbook of
``LAPTOP_RUNBOOKS`` on the topics its rules' alerts are published to, with the deployed filter
policy on the message attributes.

Deployed, SNS invokes the functions (protocol ``lambda``). moto's SNS cannot reach a function
on this machine, and its ``http`` delivery drops the message attributes (moto 5.2's
``Subscription.publish`` posts the notification without them) that the fan-out and the
runbooks read an alert from (shared/alert_notice.py). So each subscription here is an SQS
queue (protocol ``sqs``, not raw: the queue receives the SNS notification JSON, attributes
included, filtered by SNS as deployed), which laptop/receivers.py polls and hands to the
function as a Lambda SNS event.

``plan`` is pure; ``subscribe`` makes the queues and the subscriptions in moto.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infra.catalog.runbooks import RUNBOOKS
from infra.monitoring import alertmanager_sns, subscription_plan
from infra.monitoring.subscription_plan import FANOUT, Subscription
from laptop import aws

__all__ = [
    "FANOUT",
    "LAPTOP_RUNBOOKS",
    "RETRY_AFTER_S",
    "Subscribed",
    "Subscription",
    "alerting_rules",
    "laptop_functions",
    "plan",
    "subscribe",
]

# The runbooks the laptop runs when an alert names them. Not node-down (it restarts the host's
# service through SSM Run Command, which moto cannot run), nor prune or emergency-stop (they
# would prune or stop the demo node): alerts naming those reach the fan-out only. The runbook
# function itself also refuses an alert naming another runbook (functions/runbook/runner.py).
LAPTOP_RUNBOOKS = ("pause-trading",)
# A failed delivery comes back after this long, as Lambda retries an asynchronous invocation.
RETRY_AFTER_S = 5


@dataclass(frozen=True, slots=True)
class Subscribed:
    subscription: Subscription
    arn: str  # the SNS subscription's (a Lambda record's EventSubscriptionArn)
    queue_url: str


def alerting_rules(rules_file: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every alerting rule of a rules file (as loaded) by name."""
    return {
        r["alert"]: r for g in rules_file.get("groups") or [] for r in g["rules"] if "alert" in r
    }


def laptop_functions(runbooks: tuple[str, ...] = LAPTOP_RUNBOOKS) -> set[str]:
    """The catalog's names of the functions the laptop runs: the fan-out and ``runbooks``'."""
    return {FANOUT, *(RUNBOOKS[r] for r in runbooks)}


def plan(
    rules: Mapping[str, Mapping[str, Any]], runbooks: tuple[str, ...] = LAPTOP_RUNBOOKS
) -> list[Subscription]:
    """The deployed plan for ``rules`` (alerting rules by name), of the functions the laptop
    runs."""
    return subscription_plan.plan(
        alertmanager_sns.runbook_topics(rules), laptop_functions(runbooks)
    )


def subscribe(
    endpoint: str, topics: Mapping[str, str], wanted: list[Subscription], stack: str = "laptop"
) -> list[Subscribed]:
    """Each subscription as an SQS queue subscribed to its topic in moto, over its API."""
    sns, sqs = aws.client("sns", endpoint), aws.client("sqs", endpoint)
    made = []
    for sub in wanted:
        url = sqs.create_queue(
            QueueName=f"edge-{stack}-{sub.name}",
            Attributes={"VisibilityTimeout": str(RETRY_AFTER_S)},
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        attributes = (
            {
                "FilterPolicy": json.dumps(sub.filter_policy, sort_keys=True),
                "FilterPolicyScope": "MessageAttributes",
            }
            if sub.filter_policy
            else {}
        )
        arn = sns.subscribe(
            TopicArn=topics[sub.severity],
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        made.append(Subscribed(sub, arn, url))
    return made
