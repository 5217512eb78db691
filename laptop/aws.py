"""moto standing in for AWS: the server, the resources the chain uses, and the environment
the functions read (the same ``EDGE_OPS_*`` names infra/catalog/ gives the deployed ones).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from infra import catalog
from infra.monitoring import alertmanager_sns

REGION = "us-east-1"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "laptop",
    "AWS_SECRET_ACCESS_KEY": "laptop",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@dataclass(frozen=True, slots=True)
class Resources:
    endpoint: str
    stop_flag: str  # SSM parameter the node polls
    reports_bucket: str
    backups_bucket: str
    alert_secret_id: str
    alert_table: str
    alert_dlq_url: str
    failures_url: str  # every function's on-failure destination (infra/alerting.py)
    runbook_table: str  # the runbooks' lock and once-records
    topics: dict[str, str]  # severity -> the alert topic's ARN (all four, as deployed)

    @property
    def notify_topic(self) -> str:
        """The low-severity topic (reports, runbook announcements)."""
        return self.topics["low"]

    @property
    def critical_topic(self) -> str:
        """Where a runbook's escalation also goes."""
        return self.topics["critical"]

    def env(self, chat_url: str) -> dict[str, str]:
        """The variables the functions read, pointed at moto and the chat stand-in (the names
        and the bucket prefixes infra/function_access.py gives the deployed functions)."""
        return {
            "EDGE_OPS_BACKUP_LOCATION": f"s3://{self.backups_bucket}/{catalog.BACKUPS_PREFIX}",
            "EDGE_OPS_REPORT_TO": f"s3://{self.reports_bucket}/{catalog.REPORTS_PREFIX}",
            "EDGE_OPS_PRUNE_ARCHIVE_TO": f"s3://{self.reports_bucket}/{catalog.ARCHIVE_PREFIX}",
            "EDGE_OPS_INCIDENTS_TO": f"s3://{self.reports_bucket}/{catalog.INCIDENTS_PREFIX}",
            "EDGE_OPS_STOP_PARAMETER": self.stop_flag,
            "AWS_ENDPOINT_URL": self.endpoint,
            **FAKE_CREDENTIALS,
            "EDGE_OPS_ENVIRONMENT": "laptop",
            "EDGE_OPS_ALERT_SECRET_ID": self.alert_secret_id,
            "EDGE_OPS_ALERT_IDEMPOTENCY_TABLE": self.alert_table,
            "EDGE_OPS_ALERT_DLQ_URL": self.alert_dlq_url,
            "EDGE_OPS_ALERT_PAGERDUTY_URL": f"{chat_url}/pagerduty",
            "EDGE_OPS_ALERT_TELEGRAM_API": f"{chat_url}/telegram",
            "EDGE_OPS_ALERT_MAX_ATTEMPTS": "2",
            "EDGE_OPS_ALERT_DEADLINE_MARGIN_S": "5",
            "EDGE_OPS_RUNBOOK_TABLE": self.runbook_table,
            "EDGE_OPS_NOTIFY_TOPIC_ARN": self.notify_topic,
            "EDGE_OPS_ESCALATE_TOPIC_ARN": self.critical_topic,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "EdgeOps",
        }


class MotoServer:
    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.url = ""

    def start(self) -> MotoServer:
        # werkzeug logs every request on stderr: the terminal view is for what matters
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # moto keeps its state per process: a stack started after another in the same process
        # (tests) starts from an empty AWS, as a new account would
        import urllib3

        urllib3.request("POST", f"{self.url}/moto-api/reset", timeout=10)
        return self

    def stop(self) -> None:
        self._server.stop()


def client(service: str, endpoint: str) -> Any:
    import boto3

    make: Any = boto3.client  # any service by name; the typed overloads want literals
    return make(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


def create_resources(endpoint: str, chat_url: str, stack: str = "laptop") -> Resources:
    """What `pulumi up` would have made, made in moto with the same shapes."""
    ssm, s3, sns = client("ssm", endpoint), client("s3", endpoint), client("sns", endpoint)
    sm, ddb, sqs = (
        client("secretsmanager", endpoint),
        client("dynamodb", endpoint),
        client("sqs", endpoint),
    )
    flag = f"/edge/{stack}/emergency-stop"
    ssm.put_parameter(Name=flag, Value="false", Type="String", Overwrite=True)
    buckets = {name: f"edge-{stack}-{name}" for name in ("reports", "backups")}
    for bucket in buckets.values():
        s3.create_bucket(Bucket=bucket)
    secret = f"edge/{stack}/alerts"
    sm.create_secret(
        Name=secret,
        SecretString=json.dumps(
            {
                "slack_webhook_url": f"{chat_url}/slack",
                "pagerduty_routing_key": "laptop-routing-key",
                "telegram_bot_token": "laptop-bot-token",
                "telegram_chat_id": "-1000",
            }
        ),
    )
    table, locks = f"edge-{stack}-alert-once", f"edge-{stack}-runbook-locks"
    for name in (table, locks):  # both keyed on "id" (infra/alerting.py)
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    # The four alert topics: Alertmanager publishes to them, the functions announce on them,
    # and laptop/subscriptions.py subscribes the fan-out and the runbooks as deployed.
    topics = {
        sev: sns.create_topic(Name=f"edge-{stack}-alerts-{sev}")["TopicArn"]
        for sev in alertmanager_sns.SEVERITIES
    }
    dlq = sqs.create_queue(QueueName=f"edge-{stack}-alert-dlq")["QueueUrl"]
    failures = sqs.create_queue(QueueName=f"edge-{stack}-function-failures")["QueueUrl"]
    return Resources(
        endpoint=endpoint,
        stop_flag=flag,
        reports_bucket=buckets["reports"],
        backups_bucket=buckets["backups"],
        alert_secret_id=secret,
        alert_table=table,
        alert_dlq_url=dlq,
        failures_url=failures,
        runbook_table=locks,
        topics=topics,
    )


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set variables for the stack's lifetime and put the old ones back after (the functions
    read their settings from the environment, as in Lambda)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
