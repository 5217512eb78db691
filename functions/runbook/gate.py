"""Whether a runbook may act: its alarm still in ALARM, no other run acting on that alarm, and
this state change not handled already.

- The alarm's state comes from CloudWatch (``describe_alarms``) at the time of acting, not from
  the event: an alarm that went back to OK while the invocation waited (Lambda's async queue,
  a retry) does nothing.
- One run at a time per alarm: a DynamoDB item ``lock#<alarm>`` put only if absent or expired
  (its expiry bounds a run killed mid-way: the next one may go after ``lock_ttl_s``), deleted
  by its owner at the end.
- Once per state change: ``done#<alarm>|<changed_at>`` put only if absent, after the action;
  a redelivered event (SNS twice, a Lambda retry) finds it and does nothing. DynamoDB's TTL
  removes both kinds of item (``expiration``, epoch seconds).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.common.aws import error_code
from functions.common.errors import Unavailable

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient

DONE_KEEP_S = 7 * 86_400  # a redelivery comes within minutes; a week is plenty


class AlarmUnknown(Unavailable):
    """CloudWatch does not know the alarm (a wrong name or a deleted alarm): nothing is done."""


def alarm_state(cw: CloudWatchClient, name: str) -> tuple[str, str]:
    """(state, when it entered it) of a metric or composite alarm."""
    try:
        answer = cw.describe_alarms(AlarmNames=[name])
    except Exception as err:
        raise Unavailable(f"could not read alarm {name!r} from CloudWatch: {err}") from err
    alarms: list[Any] = [*answer.get("MetricAlarms", []), *answer.get("CompositeAlarms", [])]
    if not alarms:
        raise AlarmUnknown(f"CloudWatch has no alarm named {name!r}")
    a = alarms[0]
    return str(a["StateValue"]), str(a.get("StateUpdatedTimestamp", ""))


@dataclass
class Locks:
    """The lock and once-records of the runbooks in one DynamoDB table (key ``id``)."""

    db: DynamoDBClient
    table: str

    def acquire(self, alarm: str, ttl_s: int, now: float | None = None) -> str | None:
        """An owner token if the lock on ``alarm`` was taken, None if another run holds it."""
        now = time.time() if now is None else now
        owner = uuid.uuid4().hex
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"lock#{alarm}"},
                    "owner": {"S": owner},
                    "expiration": {"N": str(int(now + ttl_s))},
                },
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(int(now))}},
            )
        except Exception as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return None
            raise Unavailable(f"could not take the runbook lock: {err}") from err
        return owner

    def release(self, alarm: str, owner: str) -> None:
        try:
            self.db.delete_item(
                TableName=self.table,
                Key={"id": {"S": f"lock#{alarm}"}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except Exception as err:
            # Expired and taken by another run, or DynamoDB down: the expiry frees it anyway.
            if error_code(err) != "ConditionalCheckFailedException":
                raise Unavailable(f"could not release the runbook lock: {err}") from err

    def done(self, key: str) -> dict[str, Any] | None:
        try:
            item = self.db.get_item(
                TableName=self.table, Key={"id": {"S": f"done#{key}"}}, ConsistentRead=True
            ).get("Item")
        except Exception as err:
            raise Unavailable(f"could not read the runbook's once-record: {err}") from err
        if not item:
            return None
        result: dict[str, Any] = json.loads(item["result"]["S"])
        return result

    def record_done(self, key: str, result: dict[str, Any], now: float | None = None) -> bool:
        """False if another run recorded this state change first."""
        now = time.time() if now is None else now
        try:
            self.db.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"done#{key}"},
                    "result": {"S": json.dumps(result, default=str)[:300_000]},
                    "expiration": {"N": str(int(now + DONE_KEEP_S))},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except Exception as err:
            if error_code(err) == "ConditionalCheckFailedException":
                return False
            raise Unavailable(f"could not write the runbook's once-record: {err}") from err
        return True
