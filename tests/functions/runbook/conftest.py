"""The AWS a runbook reaches, in moto: its alarm (state set with set_alarm_state), the lock
table, the notify topic (read back through an SQS queue subscribed to it), the incidents bucket
and the stop parameter; a migrated SQLite store for the audit log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from sqlalchemy import Engine, select

from functions.common.aws import AwsClients
from shared.db import schema
from shared.db.engine import create_engine, migrate

ALARM = "edge-prod-MarketDataStale"
TABLE = "edge-prod-runbook-locks"
BUCKET = "edge-prod-reports"
PARAMETER = "/edge/prod/emergency-stop"
INSTANCE = "i-0abc1234def567890"


@dataclass
class Estate:
    aws: AwsClients
    topic: str
    queue: str
    engine: Engine
    store_url: str

    def set_alarm(
        self, state: Literal["ALARM", "OK", "INSUFFICIENT_DATA"], name: str = ALARM
    ) -> None:
        self.aws.cloudwatch.set_alarm_state(
            AlarmName=name, StateValue=state, StateReason=f"test: {state}"
        )

    def announcements(self) -> list[dict[str, Any]]:
        sqs = self.aws.client("sqs")
        out: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10)
            msgs = got.get("Messages", [])
            if not msgs:
                return out
            for m in msgs:
                out.append(json.loads(json.loads(m["Body"])["Message"]))
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    def reports(self) -> list[str]:
        listed = self.aws.s3.list_objects_v2(Bucket=BUCKET, Prefix="incidents/")
        return [o["Key"] for o in listed.get("Contents", [])]

    def report_text(self, key: str) -> str:
        return self.aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()

    def audit(self) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(schema.audit_log).order_by(schema.audit_log.c.id)))

    def db_flag(self, key: str) -> str | None:
        t = schema.system_config
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.value).where(t.c.key == key)).first()
        return None if row is None else str(row.value)


def make_estate(aws: AwsClients, store_url: str) -> Estate:
    for name in (ALARM, "edge-prod-PaperTradingViolation", "edge-prod-NodeDown",
                 "edge-prod-DatabaseSize"):  # fmt: skip
        aws.cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="PriceAgeSeconds",
            Namespace="EdgeOps",
            Statistic="Maximum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=300,
            ComparisonOperator="GreaterThanThreshold",
        )
    aws.dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.s3.create_bucket(Bucket=BUCKET)
    topic = aws.sns.create_topic(Name="edge-prod-alerts-low")["TopicArn"]
    sqs = aws.client("sqs")
    queue = sqs.create_queue(QueueName="announcements")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    aws.ssm.put_parameter(Name=PARAMETER, Value="false", Type="String")
    engine = create_engine(store_url)
    migrate(engine)
    return Estate(aws, topic, queue, engine, store_url)


@pytest.fixture
def estate(aws: AwsClients, sqlite_url: str) -> Iterator[Estate]:
    e = make_estate(aws, sqlite_url)
    yield e
    e.engine.dispose()


def env_for(e: Estate, node_url: str, **extra: str) -> dict[str, str]:
    return {
        "EDGE_OPS_NODE_URL": node_url,
        "EDGE_OPS_API_TOKEN": "runbook-test-token",
        "EDGE_OPS_STOP_PARAMETER": PARAMETER,
        "EDGE_OPS_INCIDENTS_TO": f"s3://{BUCKET}/incidents",
        "EDGE_OPS_RUNBOOK_TABLE": TABLE,
        "EDGE_OPS_NOTIFY_TOPIC_ARN": e.topic,
        "EDGE_OPS_DATABASE_URL": e.store_url,
        "EDGE_OPS_EDGE_INSTANCE_ID": INSTANCE,
        "EDGE_OPS_PRUNE_ARCHIVE_TO": f"s3://{BUCKET}/archive",
        "EDGE_OPS_POLL_S": "0.05",
        "EDGE_OPS_CONFIRM_WITHIN_S": "3",
        "EDGE_OPS_RESTART_WAIT_S": "1",
        **extra,
    }
