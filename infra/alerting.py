"""Alerting: one SNS topic per severity (the fan-out subscribes to each, in functions.py), the
fan-out's dead-letter queue and idempotency table, the queue of failed function invocations,
and an optional e-mail subscription on the critical topic that does not depend on the fan-out
(the alarm on undeliverable alerts must reach someone when the fan-out itself cannot).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.catalog import Severity
from infra.naming import child

FOURTEEN_DAYS_S = 14 * 86_400  # SQS's longest retention


@dataclass(frozen=True)
class AlertingArgs:
    prefix: str
    fallback_email: str | None = None


class Alerting(pulumi.ComponentResource):
    topics: dict[Severity, aws.sns.Topic]

    def __init__(
        self, name: str, args: AlertingArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Alerting", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)
        self.topics = {
            sev: aws.sns.Topic(
                child(name, f"topic-{sev.value}"),
                name=f"{args.prefix}-alerts-{sev.value}",
                opts=here,
            )
            for sev in Severity
        }
        self.dead_letters = aws.sqs.Queue(
            child(name, "dlq"),
            name=f"{args.prefix}-alerts-dlq",
            message_retention_seconds=FOURTEEN_DAYS_S,
            sqs_managed_sse_enabled=True,
            opts=here,
        )
        self.failures = aws.sqs.Queue(
            child(name, "function-failures"),
            name=f"{args.prefix}-function-failures",
            message_retention_seconds=FOURTEEN_DAYS_S,
            sqs_managed_sse_enabled=True,
            opts=here,
        )
        self.idempotency = aws.dynamodb.Table(
            child(name, "idempotency"),
            name=f"{args.prefix}-alert-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",  # powertools idempotency's key attribute
            attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expiration", enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            opts=here,
        )
        # The runbooks' lock and once-records (functions/runbook/gate.py): the same key and TTL.
        self.runbook_locks = aws.dynamodb.Table(
            child(name, "runbook-locks"),
            name=f"{args.prefix}-runbook-locks",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attributes=[aws.dynamodb.TableAttributeArgs(name="id", type="S")],
            ttl=aws.dynamodb.TableTtlArgs(attribute_name="expiration", enabled=True),
            server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True),
            point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
            opts=here,
        )
        if args.fallback_email:
            aws.sns.TopicSubscription(
                child(name, "critical-email"),
                topic=self.topics[Severity.CRITICAL].arn,
                protocol="email",
                endpoint=args.fallback_email,
                opts=here,
            )
        self.register_outputs(
            {
                "topics": {sev.value: t.arn for sev, t in self.topics.items()},
                "dead_letter_queue": self.dead_letters.url,
                "failures_queue": self.failures.url,
                "idempotency_table": self.idempotency.name,
                "runbook_locks": self.runbook_locks.name,
            }
        )
