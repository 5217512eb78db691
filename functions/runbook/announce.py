"""What a runbook did, announced through the fan-out: its internal event shape (``kind``
``runbook_action``, functions/fanout/sources.py) published to an SNS topic the fan-out is
subscribed to. The fan-out routes by the event's own severity, so an escalation published to
the low topic still pages; it is also published to the critical topic when one is configured
(that topic's e-mail reaches someone even when the fan-out cannot)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient


def event(
    *,
    runbook: str,
    summary: str,
    severity: str,
    resource: str,
    actions: list[str],
    link: str | None,
    details: dict[str, str],
    key: str,
    description: str = "",
    value: str | None = None,
    threshold: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "runbook_action",
        "name": f"runbook-{runbook}",
        "summary": summary[:300],
        "severity": severity,
        "resource": resource,
        "state": "firing",
        "at": (at or datetime.now(UTC)).isoformat(),
        "description": description[:3000],
        "runbook": runbook,
        "actions": actions[:20],
        "links": [{"text": "incident report", "url": link}] if link else [],
        "details": details,
        "id": key[:200],
    }
    if value is not None:
        out["value"] = value
    if threshold is not None:
        out["threshold"] = threshold
    return out


def publish(sns: SNSClient, topic_arn: str, payload: dict[str, Any]) -> str:
    answer = sns.publish(
        TopicArn=topic_arn,
        Message=json.dumps(payload),
        Subject=f"{payload['severity']}: {payload['name']}"[:100],
        MessageAttributes={"severity": {"DataType": "String", "StringValue": payload["severity"]}},
    )
    return str(answer["MessageId"])
