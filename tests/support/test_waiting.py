"""The shared waiting and prerequisite rules fail a test when they must (a waiter that could
not fail would let every test built on it pass)."""

from __future__ import annotations

import itertools

import pytest

from tests.support.prerequisites import missing
from tests.support.waiting import NotWithin, eventually, eventually_async


def test_eventually_returns_the_first_truthy_value() -> None:
    calls = itertools.count(1)
    assert eventually(lambda: next(calls) >= 3 and "third", 5, "the third call", every=0) == (
        "third"
    )


def test_eventually_fails_with_what_it_waited_for_and_the_diagnostics() -> None:
    with pytest.raises(NotWithin, match=r"after 0\.2s waiting for the moon\nno moon"):
        eventually(lambda: None, 0.2, "the moon", every=0.01, diagnostics=lambda: "no moon")
    assert issubclass(NotWithin, AssertionError)  # a failed test, not an error


async def test_eventually_async_checks_on_a_thread_and_fails_in_time() -> None:
    calls = itertools.count(1)
    assert await eventually_async(lambda: next(calls) >= 2, 5, "two calls", in_thread=True)
    with pytest.raises(NotWithin, match="nothing"):
        await eventually_async(lambda: 0, 0.2, "nothing", every=0.01)


def test_a_missing_prerequisite_skips_locally_and_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no widget"):
        missing("no widget")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no widget: under CI=true this test must"):
        missing("no widget")
