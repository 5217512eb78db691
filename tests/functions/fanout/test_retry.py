"""The retry policy's two pure parts: the classifier and the bounded, jittered backoff."""

from __future__ import annotations

import json

import pytest

from functions.fanout.retry import Answer, Decision, RetryPolicy, Verdict, classify


def ans(status: int | None, body: object = b"", **headers: str) -> Answer:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Answer(status, headers, raw, None if status else "no answer within 5 s")


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (ans(200, b"ok"), Verdict.DELIVERED),
        (ans(202, {"status": "success"}), Verdict.DELIVERED),
        (ans(204), Verdict.DELIVERED),
        (ans(301), Verdict.FATAL),  # a redirect is not a delivery
        (ans(400), Verdict.FATAL),
        (ans(403), Verdict.FATAL),
        (ans(404), Verdict.FATAL),
        (ans(410), Verdict.FATAL),  # Slack: the webhook was revoked
        (ans(408), Verdict.RETRY),
        (ans(429), Verdict.RETRY),
        (ans(500), Verdict.RETRY),
        (ans(502), Verdict.RETRY),
        (ans(None), Verdict.RETRY),
        (ans(200, {"ok": False, "description": "Bad Request"}), Verdict.FATAL),
    ],
)
def test_classify(answer: Answer, verdict: Verdict) -> None:
    assert classify(answer).verdict is verdict


def test_retry_after_header_and_telegram_body() -> None:
    assert classify(ans(429, b"", **{"Retry-After": "7"})).retry_after == 7.0
    assert classify(ans(429, b"", **{"retry-after": "1.5"})).retry_after == 1.5
    tg = {"ok": False, "error_code": 429, "parameters": {"retry_after": 11}}
    assert classify(ans(429, tg)).retry_after == 11.0
    # an HTTP-date Retry-After falls back to our backoff rather than guessing
    assert (
        classify(ans(429, b"", **{"Retry-After": "Wed, 02 Dec 2026 03:00:00 GMT"})).retry_after
        is None
    )
    assert classify(ans(503, b"", **{"Retry-After": "4"})).retry_after == 4.0


def test_backoff_is_exponential_jittered_and_capped() -> None:
    p = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0, timeout=1.0)
    retry = Decision(Verdict.RETRY, "HTTP 500")
    top = [p.next_wait(n, retry, remaining=100, rand=lambda: 1.0) for n in range(1, 6)]
    assert top == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert p.next_wait(3, retry, remaining=100, rand=lambda: 0.25) == 0.5
    assert p.next_wait(3, retry, remaining=100, rand=lambda: 0.0) == 0.0


def test_gives_up_on_refusal_attempts_or_deadline() -> None:
    p = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=8.0, timeout=2.0)
    assert p.next_wait(1, Decision(Verdict.FATAL, "HTTP 400"), 100) is None
    assert p.next_wait(3, Decision(Verdict.RETRY, "HTTP 500"), 100) is None
    asked = Decision(Verdict.RETRY, "429", retry_after=30.0)
    assert p.next_wait(1, asked, remaining=100) == 30.0
    # the wait plus one more call must fit before the deadline
    assert p.next_wait(1, asked, remaining=31.0) is None
