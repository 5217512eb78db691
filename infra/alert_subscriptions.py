"""Which alerts invoke which functions, made in AWS: the plan is
infra/monitoring/subscription_plan.py's (the fan-out on every severity topic; each runbook the
Prometheus rules name, ``runbook`` annotation, on the topics those rules' alerts are published
to, filtered on the message attributes the edge host's Alertmanager writes: firing alerts naming
that runbook, so a resolution never starts one), the same plan the laptop makes in moto.
CloudWatch alarms start their runbooks directly (infra/alarms.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.catalog import Severity
from infra.monitoring import subscription_plan
from infra.naming import child


class RunbookMissing(pulumi.RunError):
    """A rule names a runbook the catalog has no function for: fix the rule's annotation."""


@dataclass(frozen=True)
class AlertSubscriptionsArgs:
    topics: Mapping[Severity, aws.sns.Topic]
    functions: Mapping[str, aws.lambda_.Function]
    # runbook name -> severities whose topic carries alerts naming it
    # (alertmanager_sns.runbook_topics of the rules)
    runbook_topics: Mapping[str, set[str]]


class AlertSubscriptions(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AlertSubscriptionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:AlertSubscriptions", name, None, opts)
        self._name = name
        try:
            wanted = subscription_plan.plan(args.runbook_topics, set(args.functions))
        except subscription_plan.UnknownRunbook as err:
            raise RunbookMissing(str(err)) from None
        for sub in wanted:
            topic = args.topics[Severity(sub.severity)]
            self._subscribe(sub.name, args.functions[sub.function], topic, sub.filter_policy)
        self.register_outputs({})

    def _subscribe(
        self,
        label: str,
        fn: aws.lambda_.Function,
        topic: aws.sns.Topic,
        policy: dict[str, list[str]] | None,
    ) -> None:
        allowed = aws.lambda_.Permission(
            child(self._name, f"{label}-invoke"),
            action="lambda:InvokeFunction",
            function=fn.name,
            principal="sns.amazonaws.com",
            source_arn=topic.arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.sns.TopicSubscription(
            child(self._name, label),
            topic=topic.arn,
            protocol="lambda",
            endpoint=fn.arn,
            filter_policy=json.dumps(policy, sort_keys=True) if policy else None,
            filter_policy_scope="MessageAttributes" if policy else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[allowed]),
        )
