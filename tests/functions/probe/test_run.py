"""The probe's shell: every check at once, each call bounded, the whole under one deadline;
against local servers standing in for the node and its RPC endpoints."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import pytest

from functions.common.errors import Unavailable
from functions.probe.checks import BackupReading, Report
from functions.probe.run import Limits, Target, probe
from functions.probe.settings import Thresholds
from tests.functions.probe.servers import (
    TOKEN,
    NodeState,
    RpcState,
    closed_port,
    fake_node,
    fake_rpc,
    health_body,
    silent_endpoint,
)

FAST = Limits(call_timeout_s=1.0, deadline_s=4.0)


@pytest.fixture
def node() -> Iterator[tuple[NodeState, str]]:
    state = NodeState()
    with fake_node(state) as url:
        yield state, url


def _target(node_url: str, endpoints: dict[str, str], **kw: object) -> Target:
    return Target(
        "edge-1",
        node_url,
        kw.pop("token", lambda _force: TOKEN),  # type: ignore[arg-type]
        lambda: endpoints,
        **kw,  # type: ignore[arg-type]
    )


def _by(report: Report) -> dict[tuple[str, str], tuple[bool, str]]:
    return {(c.check, c.target): (c.ok, c.detail) for c in report.checks}


def test_one_silent_endpoint_fails_by_its_timeout_and_the_rest_are_measured(
    node: tuple[NodeState, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, node_url = node
    with (
        fake_rpc(RpcState(head=1001)) as a,
        fake_rpc(RpcState(head=1002)) as b,
        silent_endpoint() as silent,
    ):
        report = probe(_target(node_url, {"a": a, "silent": silent, "b": b}), Thresholds(), FAST)
    got = _by(report)
    assert got[("rpc", "silent")] == (False, "no answer (timed out after 1 s)")
    assert got[("rpc", "a")][0] and got[("rpc", "b")][0]
    assert got[("healthz", "edge-1")][0] and got[("health", "edge-1")][0]
    assert got[("price", "edge-1")][0]
    assert report.facts["rpc_heads"] == {"a": 1001, "silent": None, "b": 1002}
    # Provider URLs carry keys: never in the report, never in a log line.
    shown = json.dumps(report.as_dict()) + caplog.text
    assert "API-KEY" not in shown and "127.0.0.1" not in shown


def test_the_deadline_cuts_what_is_still_waiting_and_keeps_what_answered(
    node: tuple[NodeState, str],
) -> None:
    _, node_url = node
    with fake_rpc(RpcState(head=1000)) as a, silent_endpoint() as silent:
        report = probe(
            _target(node_url, {"a": a, "silent": silent}),
            Thresholds(),
            Limits(call_timeout_s=5.0, deadline_s=1.0),
        )
    got = _by(report)
    assert got[("rpc", "silent")] == (
        False,
        "no answer (the probe's deadline (1 s) passed first)",
    )
    assert got[("rpc", "a")][0] and got[("health", "edge-1")][0]


def test_a_hanging_backup_listing_or_token_fetch_is_cut_by_the_deadline(
    node: tuple[NodeState, str],
) -> None:
    _, node_url = node

    def hang_token(_force: bool) -> str:
        time.sleep(3)
        return TOKEN

    def hang_backup() -> BackupReading:
        time.sleep(3)
        return BackupReading(age_s=1.0)

    report = probe(
        _target(node_url, {}, token=hang_token, backup=hang_backup),
        Thresholds(),
        Limits(call_timeout_s=0.5, deadline_s=1.0),
    )
    got = _by(report)
    assert got[("health", "edge-1")] == (
        False,
        "/health: no answer (the probe's deadline (1 s) passed first)",
    )
    assert got[("backup", "edge-1")][0] is False
    assert "deadline" in got[("backup", "edge-1")][1]
    assert got[("healthz", "edge-1")][0]


def test_a_refused_token_is_fetched_anew_once(node: tuple[NodeState, str]) -> None:
    state, node_url = node
    fetched: list[bool] = []

    def token(force: bool) -> str:  # the cached value is stale; the fresh one is right
        fetched.append(force)
        return TOKEN if force else "rotated-away-token"

    report = probe(_target(node_url, {}, token=token), Thresholds(), FAST)
    assert _by(report)[("health", "edge-1")][0]
    assert fetched == [False, True]
    assert state.refused == 1


def test_a_token_refused_twice_fails_the_health_check_only(node: tuple[NodeState, str]) -> None:
    state, node_url = node
    with fake_rpc(RpcState(head=1000)) as a:
        report = probe(
            _target(node_url, {"a": a}, token=lambda _force: "wrong-token"), Thresholds(), FAST
        )
    got = _by(report)
    assert got[("health", "edge-1")][0] is False
    assert "refused the API token" in got[("health", "edge-1")][1]
    assert state.refused == 2
    assert got[("healthz", "edge-1")][0]
    ok, detail = got[("rpc", "a")]
    assert ok and detail.startswith("head 1000 (the node's block is unknown)")
    assert "wrong-token" not in json.dumps(report.as_dict())


def test_node_down() -> None:
    with fake_rpc(RpcState(head=1000)) as a:
        report = probe(_target(closed_port(), {"a": a}), Thresholds(), FAST)
    got = _by(report)
    assert got[("healthz", "edge-1")] == (False, "/healthz: no answer (connection refused)")
    assert got[("health", "edge-1")] == (False, "/health: no answer (connection refused)")
    assert got[("price", "edge-1")][0] is False
    assert got[("rpc", "a")][0]


def test_a_lagging_endpoint_and_a_stale_price(node: tuple[NodeState, str]) -> None:
    state, node_url = node
    state.health = health_body(block=5000, price_time=time.time() - 900)
    with fake_rpc(RpcState(head=4000)) as lagging, fake_rpc(RpcState(head=5001)) as good:
        report = probe(_target(node_url, {"lagging": lagging, "good": good}), Thresholds(), FAST)
    got = _by(report)
    assert got[("rpc", "lagging")][0] is False
    assert "this endpoint is 1000 blocks behind the node" in got[("rpc", "lagging")][1]
    assert got[("rpc", "good")][0]
    assert got[("price", "edge-1")][0] is False
    assert "stale: last price update 90" in got[("price", "edge-1")][1]


def test_an_unreadable_endpoint_list_and_backup_listing_are_reported(
    node: tuple[NodeState, str],
) -> None:
    _, node_url = node

    def no_list() -> dict[str, str]:
        raise Unavailable("could not read secret 'rpc' from Secrets Manager (Throttling)")

    def no_backups() -> BackupReading:
        raise Unavailable("S3 refused to list (AccessDenied)")

    target = Target("edge-1", node_url, lambda _f: TOKEN, no_list, no_backups)
    got = _by(probe(target, Thresholds(), FAST))
    assert got[("rpc", "edge-1")] == (
        False,
        "could not read the RPC endpoints: could not read secret 'rpc' from Secrets Manager "
        "(Throttling)",
    )
    assert got[("backup", "edge-1")] == (
        False,
        "could not read the backups (S3 refused to list (AccessDenied))",
    )
    assert got[("health", "edge-1")][0]
