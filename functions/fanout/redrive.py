"""Send the dead-letter queue's alerts again, each to the one channel that failed.

A person's decision (``edge-ops alert redrive``), once the channel is fixed. Each message is
deleted once it has been handled: delivered, or parked again as a new message (the fan-out
writes it back when the channel still fails), so nothing is lost and nothing loops. A message
that is not ours is left in the queue and reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

from functions.fanout.alert import alert_from_dict
from functions.fanout.delivery import FanOut, Outcome
from functions.fanout.routing import Channel


class QueueClient(Protocol):
    def receive_message(self, **kwargs: Any) -> Any: ...
    def delete_message(self, **kwargs: Any) -> Any: ...
    def change_message_visibility(self, **kwargs: Any) -> Any: ...


@dataclass(frozen=True, slots=True)
class Redriven:
    outcomes: tuple[Outcome, ...]
    unreadable: tuple[str, ...]  # message ids left in the queue

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcomes": [o.as_dict() for o in self.outcomes],
            "unreadable_left_in_queue": list(self.unreadable),
        }


def redrive(
    sqs: QueueClient, queue_url: str, fanout: FanOut, *, limit: int, budget_s: float
) -> Redriven:
    # Take the messages first, then work: what this run parks again is a new message that it
    # must not pick up (it would loop until the limit).
    hide_s = min(43_200, int(budget_s * limit) + 60)  # hidden from others while we work
    taken: list[dict[str, Any]] = []
    while len(taken) < limit:
        got = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, limit - len(taken)),
            WaitTimeSeconds=0,
            VisibilityTimeout=hide_s,
        )
        messages = got.get("Messages", [])
        if not messages:
            break
        taken += messages
    outcomes: list[Outcome] = []
    unreadable: list[str] = []
    for msg in taken:
        try:
            record = json.loads(msg["Body"])
            alert = alert_from_dict(record["alert"])
            channel = Channel(record["channel"])
        except (ValueError, KeyError, TypeError):
            unreadable.append(str(msg["MessageId"]))
            # back in view at once, for whoever reads it next
            sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
            )
            continue
        # raises (and leaves the message) if it could neither deliver nor park it again
        outcomes += fanout.deliver([alert], budget_s, frozenset({channel}))
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
    return Redriven(tuple(outcomes), tuple(unreadable))
