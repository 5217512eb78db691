"""The deployed alert subscriptions, made in moto: the fan-out on every severity topic, and
each runbook the laptop runs on the topics its rules' alerts are published to, with the
deployed filter policy on the message attributes (infra/alert_subscriptions.py subscribes the
functions the same way, from ``alertmanager_sns.runbook_topics`` and
``alertmanager_sns.runbook_filter_policy``).

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

from infra.monitoring import alertmanager_sns
from laptop import aws

FANOUT = "fanout"
# The runbooks the laptop runs when an alert names them. Not node-down (it restarts the host's
# service through SSM Run Command, which moto cannot run), nor prune or emergency-stop (they
# would prune or stop the demo node): alerts naming those reach the fan-out only. The runbook
# function itself also refuses an alert naming another runbook (functions/runbook/runner.py).
LAPTOP_RUNBOOKS = ("pause-trading",)
# A failed delivery comes back after this long, as Lambda retries an asynchronous invocation.
RETRY_AFTER_S = 5


@dataclass(frozen=True, slots=True)
class Subscription:
    target: str  # FANOUT or a runbook's name
    severity: str  # the topic's
    filter_policy: dict[str, list[str]] | None  # on the message attributes

    @property
    def name(self) -> str:
        return f"{self.target}-on-{self.severity}"


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


def plan(
    rules: Mapping[str, Mapping[str, Any]], runbooks: tuple[str, ...] = LAPTOP_RUNBOOKS
) -> list[Subscription]:
    """The fan-out on every topic (no filter); each of ``runbooks`` that a rule names on the
    topics ``runbook_topics`` gives, with the deployed filter policy."""
    out = [Subscription(FANOUT, sev, None) for sev in alertmanager_sns.SEVERITIES]
    topics = alertmanager_sns.runbook_topics(rules)
    for runbook in runbooks:
        policy = alertmanager_sns.runbook_filter_policy(runbook)
        out += [Subscription(runbook, sev, policy) for sev in sorted(topics.get(runbook, ()))]
    return out


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
