"""The stack's failures queue in moto (``edge-laptop-function-failures``): as deployed, every
function's on-failure destination (infra/functions.py: two retries of an asynchronous
invocation, then the destination). What gives up on an invocation here, a subscription's
poller (laptop/receivers.py) or the scheduler (laptop/scheduler.py), puts Lambda's on-failure
record in it and lists a ``Parked`` line for the view.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass
from typing import Any

from laptop import aws

ASYNC_TRIES = 3  # Lambda's asynchronous invocation: the first try and two retries


@dataclass(frozen=True, slots=True)
class Parked:
    """An invocation given up on, as put in the failures queue."""

    source: str  # a subscription (fanout-on-high) or a schedule (schedule backup)
    at: float
    summary: str
    error: str
    attempts: int  # times the function was called with it


def function_arn(function: str) -> str:
    return f"arn:aws:lambda:us-east-1:000000000000:function:edge-laptop-{function}"


def failure_record(
    function: str,
    payload: Any,
    error: str,
    attempts: int,
    condition: str,
    request_id: str | None = None,
) -> dict[str, Any]:
    """What Lambda sends an asynchronous invocation's on-failure destination. ``request_id``:
    the invocation's (its retries share it), so that a record sent twice reads as one."""
    return {
        "version": "1.0",
        "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        "requestContext": {
            "requestId": request_id or str(uuid.uuid4()),
            "functionArn": f"{function_arn(function)}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": payload,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
        },
        "responsePayload": {"errorMessage": error},
    }


class FailureQueue:
    """The failures queue, for one thread (its SQS client is made on first use)."""

    def __init__(self, endpoint: str, url: str) -> None:
        self.endpoint = endpoint
        self.url = url
        self._sqs: Any = None

    def send(self, record: dict[str, Any]) -> None:
        """Put ``record`` in the queue; an SQS error is the caller's to retry."""
        if self._sqs is None:
            self._sqs = aws.client("sqs", self.endpoint)
        self._sqs.send_message(QueueUrl=self.url, MessageBody=json.dumps(record))
