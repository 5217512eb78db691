"""Which alerts invoke which functions: the fan-out hears every severity topic; each runbook
the Prometheus rules name (shared/monitoring/rules.yml, ``runbook`` annotation) hears the
topics those rules' alerts are published to, filtered on the message attributes the edge
host's Alertmanager writes (firing alerts naming that runbook: a resolution never starts
one). CloudWatch alarms start their runbooks directly (infra/alarms.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import catalog
from infra.catalog import Severity
from infra.monitoring import alertmanager_sns
from infra.naming import child


class RunbookMissing(pulumi.RunError):
    """A rule names a runbook the catalog has no function for: fix the rule's annotation."""


@dataclass(frozen=True)
class AlertSubscriptionsArgs:
    topics: Mapping[Severity, aws.sns.Topic]
    functions: Mapping[str, aws.lambda_.Function]
    # runbook name -> severities whose topic carries alerts naming it
    runbook_topics: Mapping[str, set[str]]


class AlertSubscriptions(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: AlertSubscriptionsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:AlertSubscriptions", name, None, opts)
        self._name = name
        fanout = args.functions.get("fanout")
        if fanout is not None:
            for sev, topic in args.topics.items():
                self._subscribe(f"fanout-on-{sev.value}", fanout, topic, None)
        for runbook, severities in sorted(args.runbook_topics.items()):
            fn_name = catalog.RUNBOOKS.get(runbook)
            if fn_name is None:
                raise RunbookMissing(
                    f"a Prometheus rule names runbook {runbook!r}; the catalog has "
                    f"{sorted(catalog.RUNBOOKS)}"
                )
            fn = args.functions.get(fn_name)
            if fn is None:
                continue  # the stack deploys a subset of the functions (tests)
            policy = alertmanager_sns.runbook_filter_policy(runbook)
            for sev_name in sorted(severities):
                topic = args.topics[Severity(sev_name)]
                self._subscribe(f"{fn_name}-on-{sev_name}", fn, topic, policy)
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
