"""When to try a channel again, and after how long (pure: no clock, no sleep, no socket).

Two parts, as websockets' reconnect loop has them: a classifier (this answer: delivered,
try again after N seconds, or give up) and a backoff with full jitter bounded by a deadline.
Any non-2xx is a failure; 400 (and the other 4xx but 408/429) is never retried: the same
request would be refused again. 429 waits what the service says (``Retry-After``; Telegram's
``parameters.retry_after``) when that fits the deadline.
"""

from __future__ import annotations

import enum
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass


class Verdict(enum.Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    FATAL = "fatal"


@dataclass(frozen=True, slots=True)
class Answer:
    """What one attempt got: an HTTP status, or no answer at all (timeout, refused)."""

    status: int | None  # None: no HTTP answer (the error says why)
    headers: Mapping[str, str]
    body: bytes
    error: str | None = None  # a message without the URL (it may hold a secret)


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    reason: str
    retry_after: float | None = None  # what the service asked for, seconds
    credentials_refused: bool = False  # 401/403: the secret may have been rotated


_RETRYABLE_4XX = frozenset({408, 425, 429})


def _retry_after_header(headers: Mapping[str, str]) -> float | None:
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except ValueError:
                return None  # an HTTP date: fall back to our own backoff
    return None


def _telegram_retry_after(body: bytes) -> float | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    params = data.get("parameters") if isinstance(data, dict) else None
    value = params.get("retry_after") if isinstance(params, dict) else None
    return float(value) if isinstance(value, int | float) and value >= 0 else None


def _telegram_refused(body: bytes) -> bool:
    """Telegram answers {"ok": false, ...}; a 2xx with ok false is not a delivery."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("ok") is False


def classify(answer: Answer) -> Decision:
    if answer.status is None:
        return Decision(Verdict.RETRY, answer.error or "no answer")
    status = answer.status
    if 200 <= status < 300:
        if _telegram_refused(answer.body):
            return Decision(Verdict.FATAL, f"HTTP {status} but ok=false")
        return Decision(Verdict.DELIVERED, f"HTTP {status}")
    if status == 429:
        after = _retry_after_header(answer.headers)
        if after is None:
            after = _telegram_retry_after(answer.body)
        return Decision(Verdict.RETRY, "HTTP 429 rate limited", after)
    if status >= 500 or status in _RETRYABLE_4XX:
        return Decision(Verdict.RETRY, f"HTTP {status}", _retry_after_header(answer.headers))
    said = f": {answer.error}" if answer.error else ""
    if status in (401, 403):
        return Decision(Verdict.FATAL, f"HTTP {status} credentials refused{said}", None, True)
    return Decision(Verdict.FATAL, f"HTTP {status} refused{said}")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 20.0
    timeout: float = 5.0  # each HTTP call

    def delay(self, attempt: int, asked: float | None, rand: Callable[[], float]) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        The service's own wait wins when it gives one (never shorter: that would be refused
        again); otherwise full jitter (AWS's "exponential backoff and jitter") so channels and
        concurrent invocations do not retry in step.
        """
        if asked is not None:
            return asked
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return rand() * ceiling

    def next_wait(
        self,
        attempt: int,
        decision: Decision,
        remaining: float,
        rand: Callable[[], float] = random.random,
    ) -> float | None:
        """How long to wait before attempt ``attempt + 1``, or None to give up now.

        ``remaining`` is the time left before the deadline (the Lambda's own timeout less a
        margin to dead-letter): a wait plus another call that cannot fit is not started.
        """
        if decision.verdict is not Verdict.RETRY or attempt >= self.max_attempts:
            return None
        wait = self.delay(attempt, decision.retry_after, rand)
        if wait + self.timeout > remaining:
            return None
        return wait
