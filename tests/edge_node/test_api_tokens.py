"""The API's tokens from a rotating secret: current and pending accepted, previous for a
grace period, a new token picked up without a restart, wrong tokens rate-limited."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from edge_node.api import build_app
from edge_node.api_tokens import SecretTokens, StaticToken, TokenRing
from shared.secret_versions import SecretUnreadable, Version, Versions
from tests.support.moto_secrets import moto_secretsmanager
from tests.support.waiting import eventually_async

T0 = 1_800_000_000.0
A, B, C = (secrets.token_hex(32) for _ in range(3))


def versions(current: str, pending: str | None = None, previous: str | None = None) -> Versions:
    return Versions(
        Version("c", current, T0),
        Version("p", pending, T0) if pending else None,
        Version("v", previous, T0 - 90 * 86400) if previous else None,
    )


def test_the_ring_accepts_current_pending_and_previous_within_the_grace() -> None:
    ring = TokenRing(grace_s=3600)
    assert ring.match(A, T0) is None  # nothing read yet: nothing accepted
    assert ring.update(versions(A, pending=B, previous=C))
    assert ring.match(A, T0) == "AWSCURRENT"
    assert ring.match(B, T0) == "AWSPENDING"
    assert ring.match(C, T0 + 3599) == "AWSPREVIOUS"
    assert ring.match(C, T0 + 3601) is None  # grace over
    assert ring.match(A[:-1], T0) is None and ring.match("", T0) is None
    assert not ring.update(versions(A, pending=B, previous=C))  # same ids: no change
    assert not ring.update(versions("short"))  # never accept an unusable current token
    assert ring.match(A, T0) == "AWSCURRENT"  # the last good versions stay
    ring.update(versions(A, pending="tiny", previous=C))
    assert ring.match("tiny", T0) is None


@pytest.fixture
def sm(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with moto_secretsmanager(monkeypatch) as client:
        client.create_secret(Name="api", SecretString=A)
        yield client


def open_pending(sm: Any, value: str) -> None:
    """createSecret: the new value staged AWSPENDING."""
    sm.put_secret_value(SecretId="api", SecretString=value, VersionStages=["AWSPENDING"])


def finish(sm: Any) -> None:
    """finishSecret: the pending version becomes current, and loses AWSPENDING."""
    stages = sm.describe_secret(SecretId="api")["VersionIdsToStages"]
    current = next(v for v, s in stages.items() if "AWSCURRENT" in s)
    pending = next(v for v, s in stages.items() if "AWSPENDING" in s)
    sm.update_secret_version_stage(
        SecretId="api", VersionStage="AWSCURRENT", MoveToVersionId=pending,
        RemoveFromVersionId=current,
    )  # fmt: skip
    sm.update_secret_version_stage(
        SecretId="api", VersionStage="AWSPENDING", RemoveFromVersionId=pending
    )


class _Node:
    def health_ok(self) -> bool:
        return True

    def health_detail(self) -> dict[str, Any]:
        return {"status": "ok"}


@pytest_asyncio.fixture
async def api(sm: Any) -> AsyncIterator[tuple[TestClient[Any, Any], SecretTokens]]:
    tokens = SecretTokens(sm, "api", grace_s=3600, refresh_s=3600, min_gap_s=0.2)
    await tokens.start()
    client = TestClient(TestServer(build_app(_Node(), tokens)))  # type: ignore[arg-type]
    await client.start_server()
    try:
        yield client, tokens
    finally:
        await client.close()


async def status(client: TestClient[Any, Any], token: str) -> int:
    resp = await client.get("/health", headers={"Authorization": f"Bearer {token}"})
    return resp.status


async def test_a_rotation_is_picked_up_without_a_restart(
    api: tuple[TestClient[Any, Any], SecretTokens], sm: Any
) -> None:
    client, tokens = api
    assert await status(client, A) == 200
    open_pending(sm, B)  # createSecret: the rotation's test step calls with B
    assert await status(client, B) == 200  # unknown, so read again at once: accepted
    assert await status(client, A) == 200
    finish(sm)
    assert await status(client, B) == 200
    assert await status(client, A) == 200  # previous, within the grace
    detail = await (await client.get("/health", headers={"Authorization": f"Bearer {B}"})).json()
    assert detail["api_tokens"]["accepted"]["AWSPENDING"] >= 2
    assert A not in str(detail) and B not in str(detail)
    refreshes = tokens.refreshes
    # a burst of wrong tokens: one read per gap at most, and every one refused
    results = await asyncio.gather(*(status(client, C) for _ in range(20)))
    assert results == [401] * 20
    assert tokens.refreshes - refreshes <= 2


async def test_a_static_token_and_an_unreadable_secret(sm: Any) -> None:
    assert await StaticToken("x" * 16).check("x" * 16) == "static"
    assert await StaticToken("x" * 16).check("y" * 16) is None
    with pytest.raises(ValueError, match="at least 16"):
        StaticToken("short")
    missing = SecretTokens(sm, "nope", grace_s=0, refresh_s=60, min_gap_s=0)
    with pytest.raises(SecretUnreadable, match="'nope'"):
        await missing.start()
    sm.create_secret(Name="short", SecretString="abc")
    with pytest.raises(SecretUnreadable, match="shorter than 16"):
        await SecretTokens(sm, "short", grace_s=0, refresh_s=60, min_gap_s=0).start()


async def test_the_timer_refreshes(sm: Any) -> None:
    tokens = SecretTokens(sm, "api", grace_s=0, refresh_s=0.2, min_gap_s=5)
    await tokens.start()
    stop = asyncio.Event()
    task = asyncio.create_task(tokens.run(stop))
    open_pending(sm, B)
    await eventually_async(
        lambda: tokens.ring.versions and tokens.ring.versions.pending, what="a timed refresh"
    )
    stop.set()
    await task
    assert tokens.ring.match(B, T0 * 2) == "AWSPENDING"
