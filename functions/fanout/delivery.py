"""Delivery you can trust: each channel on its own, retried, dead-lettered, once.

For every (alert, channel) pair, in parallel threads:
1. the once-gate (powertools idempotency on DynamoDB, keyed per channel on the alert's state
   change) lets only the first delivery of a state change through, even across SNS's duplicate
   deliveries and Lambda's retries;
2. the sender is tried until it answers 2xx, with backoff and jitter, honouring Retry-After,
   never retrying a refusal (400), never past the deadline;
3. what still failed is written to the dead-letter queue. Only if that write fails too does the
   pair raise, so the invocation fails and Lambda runs it again (the gate forgets a pair whose
   call raised); a pair dead-lettered is done and is not sent again by a duplicate.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from functions.fanout.alert import Alert, alert_to_dict
from functions.fanout.retry import RetryPolicy, Verdict, classify
from functions.fanout.routing import Channel, channels_for

if TYPE_CHECKING:  # the senders (urllib3) are loaded by whoever builds them
    from functions.fanout.channels import SecretBox, Sender

Status = Literal["delivered", "dead_lettered", "duplicate", "in_progress_elsewhere"]


@dataclass(frozen=True, slots=True)
class Outcome:
    channel: Channel
    name: str
    dedup_key: str
    state: str
    status: Status
    attempts: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel.value,
            "name": self.name,
            "dedup_key": self.dedup_key,
            "state": self.state,
            "status": self.status,
            "attempts": self.attempts,
            "reason": self.reason,
        }


class DeadLetters(Protocol):
    def put(self, record: Mapping[str, Any]) -> None: ...


class SqsClient(Protocol):
    def send_message(self, **kwargs: Any) -> Any: ...


class SqsDeadLetters:
    def __init__(self, sqs: SqsClient, queue_url: str) -> None:
        self.sqs, self.queue_url = sqs, queue_url

    def put(self, record: Mapping[str, Any]) -> None:
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(record))


class DeadLetterFailed(RuntimeError):
    """A channel failed and the dead-letter queue refused the record too: the invocation must
    fail so that Lambda runs it again (nothing is lost, nothing reports success)."""


class ChannelNotConfigured(ValueError):
    """A channel was asked for that has no sender (e-mail without recipients): configure it."""


class DeliveryIncomplete(RuntimeError):
    """Some pairs could be neither delivered nor dead-lettered: retry the invocation."""


class OnceGate(Protocol):
    def once(
        self, alert: Alert, channel: Channel, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | None:
        """Run ``run`` unless this state change already went to this channel; return its
        result (or the stored one), or None when another invocation is delivering it now."""
        ...


class NoGate:
    """No memory (a person's ``edge-ops alert send``: each command is a new event)."""

    def once(
        self, alert: Alert, channel: Channel, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | None:
        return run()


class MemoryGate:
    """Once per process (tests and the benchmark's in-memory case)."""

    def __init__(self) -> None:
        self._done: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._busy: set[tuple[str, str]] = set()

    def once(
        self, alert: Alert, channel: Channel, run: Callable[[], dict[str, Any]]
    ) -> dict[str, Any] | None:
        key = (alert.identity, channel.value)
        with self._lock:
            if key in self._done:
                return self._done[key]
            if key in self._busy:
                return None
            self._busy.add(key)
        try:
            result = run()
        except BaseException:
            with self._lock:
                self._busy.discard(key)
            raise
        with self._lock:
            self._done[key] = result
            self._busy.discard(key)
        return result


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Defence in depth: no secret value survives in a reason (answers may echo a request)."""
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


class FanOut:
    def __init__(
        self,
        senders: Mapping[Channel, Sender],
        dead_letters: DeadLetters,
        gate: OnceGate,
        policy: RetryPolicy,
        *,
        secrets: SecretBox | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        max_workers: int = 16,
    ) -> None:
        self.senders = dict(senders)
        self.dead_letters = dead_letters
        self.gate = gate
        self.policy = policy
        self.box = secrets
        self.clock, self.sleep, self.rand = clock, sleep, rand
        # kept across warm invocations: a pool per call costs more than a small alert
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="fanout")

    def _scrub(self, text: str) -> str:
        return scrub(text, self.box.values()) if self.box else text

    @property
    def configured(self) -> frozenset[Channel]:
        return frozenset(self.senders)

    def plan(
        self, alerts: Sequence[Alert], only: frozenset[Channel] | None = None
    ) -> list[tuple[Alert, Channel]]:
        """Every (alert, channel) pair the routing table asks for (or exactly ``only``'s
        channels: ``edge-ops alert test`` tries each channel whatever the severity)."""
        pairs = []
        for alert in alerts:
            chosen = (
                tuple(ch for ch in Channel if ch in only)
                if only is not None
                else channels_for(alert, self.configured)
            )
            for channel in chosen:
                if channel not in self.senders:
                    raise ChannelNotConfigured(
                        f"channel {channel.value} is asked for but not configured"
                    )
                pairs.append((alert, channel))
        return pairs

    def deliver(
        self,
        alerts: Sequence[Alert],
        budget_s: float,
        only: frozenset[Channel] | None = None,
    ) -> list[Outcome]:
        """Deliver every alert to its channels; raises DeliveryIncomplete (after every pair
        has been tried) when some pair could not even be dead-lettered."""
        deadline = self.clock() + budget_s
        run_id = uuid.uuid4().hex
        pairs = self.plan(alerts, only)
        futures = [self._pool.submit(self._one, a, ch, deadline, run_id) for a, ch in pairs]
        outcomes: list[Outcome] = []
        failures: list[str] = []
        for (alert, channel), fut in zip(pairs, futures, strict=True):
            try:
                outcomes.append(fut.result())
            except Exception as err:  # every pair is waited for before failing
                failures.append(f"{channel.value} {alert.name}: {self._scrub(str(err))}")
        if failures:
            raise DeliveryIncomplete(
                f"{len(failures)} of {len(pairs)} deliveries neither sent nor dead-lettered: "
                + "; ".join(failures)
            )
        return outcomes

    def _one(self, alert: Alert, channel: Channel, deadline: float, run_id: str) -> Outcome:
        def run() -> dict[str, Any]:
            return self._attempt_all(alert, channel, deadline, run_id)

        result = self.gate.once(alert, channel, run)

        def made(status: Status, attempts: int, reason: str) -> Outcome:
            return Outcome(
                channel, alert.name, alert.dedup_key, alert.state.value, status, attempts, reason
            )

        if result is None:
            return made(
                "in_progress_elsewhere", 0, "another invocation is delivering this state change"
            )
        if result.get("run_id") != run_id:
            return made("duplicate", 0, f"already {result.get('status')} for this state change")
        return made(result["status"], int(result["attempts"]), str(result["reason"]))

    def _attempt_all(
        self, alert: Alert, channel: Channel, deadline: float, run_id: str
    ) -> dict[str, Any]:
        sender = self.senders[channel]
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            answer = sender.attempt(alert)
            decision = classify(answer)
            if decision.verdict is Verdict.DELIVERED:
                return {
                    "run_id": run_id,
                    "status": "delivered",
                    "attempts": attempt,
                    "reason": decision.reason,
                }
            if decision.credentials_refused and not refreshed and self.box is not None:
                # rotated since we cached it? fetch it anew and try once more at once
                refreshed = True
                self.box.refresh()
                continue
            wait = self.policy.next_wait(attempt, decision, deadline - self.clock(), self.rand)
            if wait is None:
                break
            self.sleep(wait)
        reason = self._scrub(decision.reason)
        if decision.verdict is Verdict.RETRY:
            reason = f"gave up after {attempt} attempts: {reason}"
        record = {
            "alert": alert_to_dict(alert),
            "channel": channel.value,
            "reason": reason,
            "attempts": attempt,
            "failed_at": datetime.now(UTC).isoformat(),
        }
        try:
            self.dead_letters.put(record)
        except Exception as err:
            raise DeadLetterFailed(
                f"{channel.value} failed ({reason}) and the dead-letter queue refused it: "
                f"{type(err).__name__}"
            ) from None
        return {"run_id": run_id, "status": "dead_lettered", "attempts": attempt, "reason": reason}
