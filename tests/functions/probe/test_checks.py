"""The probe's judging core: readings in, check results and metric points out (no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from functions.probe import metrics as m
from functions.probe.checks import (
    BackupReading,
    HttpReading,
    Readings,
    Report,
    RpcReading,
    evaluate,
)
from functions.probe.settings import Thresholds
from tests.functions.probe.servers import health_body, trading_section

NOW = 1_800_000_000.0
OK_Z = HttpReading(200, {"status": "ok"}, 12.0)
DEFAULTS = Thresholds()


def _health(**kw: Any) -> HttpReading:
    return HttpReading(200, health_body(**({"price_time": NOW - 10} | kw)), 20.0)


def _run(
    healthz: HttpReading = OK_Z,
    health: HttpReading | None = None,
    rpc: tuple[RpcReading, ...] = (RpcReading("a", 1001, 30.0),),
    backup: BackupReading | None = None,
    t: Thresholds = DEFAULTS,
    **kw: Any,
) -> Report:
    readings = Readings(NOW, 55.0, healthz, health or _health(), rpc, backup, **kw)
    return evaluate(readings, "edge-1", t)


def _check(report: Report, check: str, target: str = "edge-1") -> tuple[bool, str]:
    found = [c for c in report.checks if c.check == check and c.target == target]
    assert len(found) == 1, report.checks
    return found[0].ok, found[0].detail


def _points(report: Report) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(p.metric.name, p.dimensions): p.value for p in report.points}


def test_all_well_every_check_passes_and_publishes_its_success() -> None:
    r = _run(backup=BackupReading(age_s=7200.0, backup_id="20261130T020000Z-abcdef"))
    assert r.ok
    assert [(c.check, c.target) for c in r.checks] == [
        ("healthz", "edge-1"),
        ("health", "edge-1"),
        ("price", "edge-1"),
        ("rpc", "a"),
        ("backup", "edge-1"),
    ]
    pts = _points(r)
    node = (("Node", "edge-1"),)
    for check in ("healthz", "health", "price", "backup"):
        assert pts[("ProbeCheckOk", (("Check", check), ("Node", "edge-1")))] == 1.0
    assert pts[("ProbeCheckOk", (("Check", "rpc"), ("Endpoint", "a")))] == 1.0
    assert pts[("RpcHeadLagBlocks", (("Endpoint", "a"),))] == 1.0  # endpoint 1001, node 1000
    assert pts[("RpcResponseTimeMs", (("Endpoint", "a"),))] == 30.0
    assert pts[("PriceUpdateAgeSeconds", node)] == 10.0
    assert pts[("HealthzResponseTimeMs", node)] == 12.0
    assert pts[("HealthResponseTimeMs", node)] == 20.0
    assert pts[("NodeBlockAgeSeconds", node)] == 1.0
    assert pts[("VerifiedBackupAgeSeconds", node)] == 7200.0
    assert pts[("ProbeDurationMs", node)] == 55.0
    # Every metric the core emits is one of the names defined in one place.
    assert {p.metric for p in r.points} <= {*m.ALL, m.RPC_CHECK_OK}


def test_a_stale_price_fails_above_300_s_and_says_how_old() -> None:
    ok, _ = _check(_run(health=_health(price_time=NOW - 300)), "price")
    assert ok  # exactly the threshold is not stale yet
    r = _run(health=_health(price_time=NOW - 301))
    ok, detail = _check(r, "price")
    assert not ok and "301 s ago (limit 300 s)" in detail
    assert _points(r)[("PriceUpdateAgeSeconds", (("Node", "edge-1"),))] == 301.0
    # the other checks are unaffected
    assert _check(r, "health")[0] and _check(r, "rpc", "a")[0]


def test_no_price_update_yet_is_fine_only_while_the_node_is_young() -> None:
    ok, detail = _check(_run(health=_health(price_time=None, uptime_s=120)), "price")
    assert ok and "started 120 s ago" in detail
    ok, detail = _check(_run(health=_health(price_time=None, uptime_s=900)), "price")
    assert not ok and "no price update in the 900 s" in detail


def test_an_endpoint_behind_the_node_and_a_node_behind_an_endpoint_both_fail() -> None:
    r = _run(rpc=(RpcReading("slowpoke", 900, 40.0), RpcReading("ahead", 1100, 40.0)))
    ok, detail = _check(r, "rpc", "slowpoke")
    assert not ok and "this endpoint is 100 blocks behind the node" in detail
    ok, detail = _check(r, "rpc", "ahead")
    assert not ok and "the node is 100 blocks behind this endpoint" in detail
    assert _points(r)[("RpcHeadLagBlocks", (("Endpoint", "slowpoke"),))] == -100.0
    ok, _ = _check(_run(rpc=(RpcReading("edge", 1040, 40.0),)), "rpc", "edge")
    assert ok  # 40 blocks is the limit, included


def test_a_slow_rpc_answer_fails_above_5000_ms() -> None:
    ok, detail = _check(_run(rpc=(RpcReading("a", 1000, 5001.0),)), "rpc", "a")
    assert not ok and "slow, 5001 ms (limit 5000 ms)" in detail


def test_an_endpoint_that_did_not_answer_fails_and_publishes_no_timing() -> None:
    r = _run(rpc=(RpcReading("silent", error="timed out after 2 s"), RpcReading("b", 1000, 9.0)))
    ok, detail = _check(r, "rpc", "silent")
    assert not ok and detail == "no answer (timed out after 2 s)"
    assert _check(r, "rpc", "b")[0]
    names = {(p.metric.name, p.dimensions) for p in r.points}
    assert ("RpcResponseTimeMs", (("Endpoint", "silent"),)) not in names
    assert ("ProbeCheckOk", (("Check", "rpc"), ("Endpoint", "silent"))) in names


def test_a_slow_health_answer_fails_above_1000_ms() -> None:
    r = _run(healthz=HttpReading(200, {"status": "ok"}, 1500.0))
    ok, detail = _check(r, "healthz")
    assert not ok and "ok but slow, 1500 ms (limit 1000 ms)" in detail


def test_an_unhealthy_node_fails_with_its_own_reasons_but_its_figures_are_still_read() -> None:
    body = health_body(status="not ok", reasons=["last processed block is 95s old (limit 30s)"])
    body["market"]["last_price_update_time"] = NOW - 5
    r = _run(
        healthz=HttpReading(503, {"status": "not ok"}, 3.0),
        health=HttpReading(503, body, 4.0),
    )
    assert _check(r, "healthz") == (False, "/healthz: HTTP 503, status 'not ok'")
    ok, detail = _check(r, "health")
    assert not ok and "HTTP 503, last processed block is 95s old" in detail
    assert _check(r, "price")[0]  # read from the 503 body
    assert _points(r)[("RpcHeadLagBlocks", (("Endpoint", "a"),))] == 1.0


def test_node_down_fails_node_checks_and_judges_endpoints_alone() -> None:
    down = HttpReading(error="connection refused")
    r = _run(healthz=down, health=down)
    assert _check(r, "healthz") == (False, "/healthz: no answer (connection refused)")
    assert _check(r, "health") == (False, "/health: no answer (connection refused)")
    assert _check(r, "price") == (False, "unknown: /health gave no readable answer")
    ok, detail = _check(r, "rpc", "a")
    assert ok and "the node's block is unknown" in detail
    assert "RpcHeadLagBlocks" not in {p.metric.name for p in r.points}


def test_a_refused_token_says_so() -> None:
    r = _run(health=HttpReading(401, None, 3.0, token_refused=True))
    ok, detail = _check(r, "health")
    assert not ok and "refused the API token, even fetched anew" in detail
    assert _check(r, "healthz")[0]


@pytest.mark.parametrize(
    ("reading", "ok", "says"),
    [
        (BackupReading(age_s=3600.0, backup_id="x"), True, "(x) is 1.0 h old"),
        (BackupReading(age_s=9 * 86400.0, backup_id="x"), False, "216.0 h old (limit 192 h)"),
        (BackupReading(), False, "no verified backup at all"),
        (BackupReading(error="S3 refused to list"), False, "could not read the backups"),
    ],
)
def test_backup_age(reading: BackupReading, ok: bool, says: str) -> None:
    got, detail = _check(_run(backup=reading), "backup")
    assert got is ok and says in detail


def test_no_backup_location_means_no_backup_check() -> None:
    assert all(c.check != "backup" for c in _run(backup=None).checks)


def test_an_unreadable_endpoint_list_is_a_failed_rpc_check() -> None:
    r = _run(rpc=(), rpc_list_error="secret 'rpc' does not exist")
    assert _check(r, "rpc") == (
        False,
        "could not read the RPC endpoints: secret 'rpc' does not exist",
    )


# --- trading safety: PaperTradingViolation and DailyLossOverLimit, from /health's trading ---


NODE_DIMS = (("Node", "edge-1"),)


def _safety(**trading: Any) -> tuple[float | None, float | None]:
    pts = _points(_run(health=_health(trading=trading_section(**trading))))
    return pts.get(("PaperTradingViolation", NODE_DIMS)), pts.get(("DailyLossOverLimit", NODE_DIMS))


@pytest.mark.parametrize(
    ("mode", "required", "live_trades", "violation"),
    [
        ("paper", "paper", 0, 0.0),
        ("live", "paper", 0, 1.0),  # --live under a config that requires paper
        ("paper", "paper", 2, 1.0),  # live trades counted on a node that must be on paper
        ("live", "live", 5, 0.0),  # a node meant to be live
        ("live", "unheard-of", 0, 1.0),  # live only where the config says so
    ],
)
def test_paper_trading_violation_is_live_trading_where_paper_is_required(
    mode: str, required: str, live_trades: int, violation: float
) -> None:
    got, _ = _safety(mode=mode, required_mode=required, live_trades=live_trades)
    assert got == violation


def test_the_days_loss_at_its_limit_publishes_one() -> None:
    limit = 10**18
    assert _safety(daily_loss=limit - 1, max_daily_loss=limit)[1] == 0.0
    assert _safety(daily_loss=limit, max_daily_loss=limit)[1] == 1.0
    r = _run(health=_health(trading=trading_section(daily_loss=3 * limit, max_daily_loss=limit)))
    assert r.facts["trading"]["daily_loss"] == 3 * limit  # exact: wei survive as strings


def test_a_node_that_does_not_trade_publishes_no_violation() -> None:
    body = health_body(price_time=NOW - 10) | {"trading": None}
    pts = _points(_run(health=HttpReading(200, body, 20.0)))
    assert pts[("PaperTradingViolation", NODE_DIMS)] == 0.0
    assert pts[("DailyLossOverLimit", NODE_DIMS)] == 0.0


def test_no_answer_from_health_publishes_neither_trading_metric() -> None:
    r = _run(health=HttpReading(error="connection refused"))
    names = {p.metric.name for p in r.points}
    assert not names & {"PaperTradingViolation", "DailyLossOverLimit"}
    assert "trading" not in r.facts


def test_the_catalog_alarms_read_the_trading_metrics_as_published() -> None:
    from infra import catalog

    for alarm, metric in (
        ("PaperTradingViolation", m.PAPER_VIOLATION),
        ("LossLimit", m.LOSS_OVER_LIMIT),
    ):
        a = next(x for x in catalog.ALARMS if x.name == alarm)
        assert a.metric == metric.name and not a.awaiting
        assert {k for k, _ in a.dimensions} - {"service"} == set(metric.dimensions)
