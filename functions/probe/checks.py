"""The probe's logic: readings in, check results and metric points out. No I/O, no clock.

The shell (``run.py``) takes the readings, each call bounded, all of them at once; this module
judges them against the thresholds. A reading that has no answer (timed out, refused, the probe's
deadline) fails its check and says why; the other checks are judged on what they got. The RPC
checks compare each endpoint's head with the node's last processed block from ``/health``; if
``/health`` did not answer they are judged on the endpoint alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from functions.probe import metrics as m
from functions.probe.settings import Thresholds


@dataclass(frozen=True, slots=True)
class HttpReading:
    """One HTTP call to the node: its status and JSON body, or why there is none."""

    status: int | None = None
    body: Any = None  # the decoded JSON body, if it was JSON
    elapsed_ms: float | None = None
    error: str | None = None  # no answer: "timed out after 5.0 s", "connection refused", ...
    token_refused: bool = False  # 401 even with the token fetched anew


@dataclass(frozen=True, slots=True)
class RpcReading:
    name: str
    head: int | None = None
    elapsed_ms: float | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class BackupReading:
    age_s: float | None = None  # of the newest verified backup; None: there is none
    backup_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Readings:
    now: float  # unix time the readings were judged at
    duration_ms: float  # the whole probe
    healthz: HttpReading
    health: HttpReading
    rpc: tuple[RpcReading, ...] = ()
    backup: BackupReading | None = None  # None: no backup location configured
    rpc_list_error: str | None = None  # the endpoints' list (a secret) could not be read


@dataclass(frozen=True, slots=True)
class CheckResult:
    check: str
    target: str  # the node's or the endpoint's name
    ok: bool
    detail: str


@dataclass(frozen=True, slots=True)
class Point:
    metric: m.MetricName
    value: float
    dimensions: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Report:
    node: str
    checks: tuple[CheckResult, ...]
    points: tuple[Point, ...]
    duration_ms: float
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "node": self.node,
            "duration_ms": round(self.duration_ms, 1),
            "checks": [
                {"check": c.check, "target": c.target, "ok": c.ok, "detail": c.detail}
                for c in self.checks
            ],
            "facts": self.facts,
        }


def _get(body: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


class _Judge:
    def __init__(self, node: str, t: Thresholds) -> None:
        self.node, self.t = node, t
        self.checks: list[CheckResult] = []
        self.points: list[Point] = []

    def point(self, metric: m.MetricName, value: float, target: str | None = None) -> None:
        dims = []
        for d in metric.dimensions:
            if d == m.CHECK:
                continue
            dims.append((d, target if d == m.ENDPOINT and target else self.node))
        self.points.append(Point(metric, float(value), tuple(dims)))

    def result(self, check: str, ok: bool, detail: str, endpoint: str | None = None) -> None:
        target = endpoint or self.node
        self.checks.append(CheckResult(check, target, ok, detail))
        metric = m.RPC_CHECK_OK if endpoint else m.CHECK_OK
        other = (m.ENDPOINT, endpoint) if endpoint else (m.NODE, self.node)
        self.points.append(Point(metric, 1.0 if ok else 0.0, ((m.CHECK, check), other)))

    def http(self, check: str, r: HttpReading, timing: m.MetricName, path: str) -> None:
        if r.elapsed_ms is not None and r.error is None:
            self.point(timing, r.elapsed_ms)
        if r.error is not None:
            self.result(check, False, f"{path}: no answer ({r.error})")
            return
        if r.token_refused:
            self.result(
                check,
                False,
                f"{path}: the node refused the API token, even fetched anew "
                "(check the token secret, or a rotation in progress)",
            )
            return
        status = _get(r.body, "status")
        if r.status == 200 and status == "ok":
            elapsed = r.elapsed_ms or 0.0
            if elapsed > self.t.health_slow_ms:
                self.result(
                    check,
                    False,
                    f"{path}: ok but slow, {_ms(elapsed)} (limit {_ms(self.t.health_slow_ms)})",
                )
            else:
                self.result(check, True, f"{path}: ok in {_ms(elapsed)}")
            return
        reasons = _get(r.body, "reasons")
        why = "; ".join(str(x) for x in reasons) if isinstance(reasons, list) and reasons else None
        said = why or (f"status {status!r}" if status is not None else "no status in the answer")
        self.result(check, False, f"{path}: HTTP {r.status}, {said}")

    def price(self, health: HttpReading, now: float) -> None:
        body = health.body if isinstance(health.body, dict) else None
        if body is None:
            self.result(m.PRICE, False, "unknown: /health gave no readable answer")
            return
        market = body.get("market")
        if not isinstance(market, dict):
            self.result(m.PRICE, False, "unknown: the node does not report its last price update")
            return
        at = _number(market.get("last_price_update_time"))
        limit = self.t.price_stale_s
        if at is None:
            uptime = _number(body.get("uptime_seconds"))
            if uptime is not None and uptime <= limit:
                self.result(
                    m.PRICE, True, f"no price update yet; the node started {uptime:.0f} s ago"
                )
            else:
                since = "" if uptime is None else f" in the {uptime:.0f} s since the node started"
                self.result(m.PRICE, False, f"stale: no price update{since} (limit {limit:.0f} s)")
            return
        age = max(0.0, now - at)
        self.point(m.PRICE_AGE, age)
        if age > limit:
            self.result(
                m.PRICE, False, f"stale: last price update {age:.0f} s ago (limit {limit:.0f} s)"
            )
        else:
            self.result(m.PRICE, True, f"last price update {age:.0f} s ago")

    def rpc(self, r: RpcReading, node_block: int | None) -> None:
        if r.error is not None or r.head is None:
            self.result(m.RPC, False, f"no answer ({r.error or 'no head'})", r.name)
            return
        elapsed = r.elapsed_ms or 0.0
        self.point(m.RPC_TIME, elapsed, r.name)
        problems = []
        if elapsed > self.t.rpc_slow_ms:
            problems.append(f"slow, {_ms(elapsed)} (limit {_ms(self.t.rpc_slow_ms)})")
        if node_block is None:
            note = f"head {r.head} (the node's block is unknown)"
        else:
            lag = r.head - node_block
            self.point(m.RPC_LAG, lag, r.name)
            note = f"head {r.head}, node at {node_block}"
            if lag > self.t.rpc_max_lag_blocks:
                problems.append(f"the node is {lag} blocks behind this endpoint")
            elif -lag > self.t.rpc_max_lag_blocks:
                problems.append(f"this endpoint is {-lag} blocks behind the node")
        if problems:
            self.result(m.RPC, False, f"{note}: " + "; ".join(problems), r.name)
        else:
            self.result(m.RPC, True, f"{note}, in {_ms(elapsed)}", r.name)

    def backup(self, b: BackupReading) -> None:
        if b.error is not None:
            self.result(m.BACKUP, False, f"could not read the backups ({b.error})")
            return
        if b.age_s is None:
            self.result(m.BACKUP, False, "no verified backup at all")
            return
        self.point(m.BACKUP_AGE, b.age_s)
        hours, limit_h = b.age_s / 3600, self.t.backup_max_age_s / 3600
        if b.age_s > self.t.backup_max_age_s:
            self.result(
                m.BACKUP,
                False,
                f"the newest verified backup is {hours:.1f} h old (limit {limit_h:.0f} h)",
            )
        else:
            self.result(
                m.BACKUP, True, f"the newest verified backup ({b.backup_id}) is {hours:.1f} h old"
            )


def _int(value: Any) -> int | None:
    # /health gives raw capital amounts as strings (wei-sized integers).
    try:
        return int(value) if isinstance(value, str | int) and not isinstance(value, bool) else None
    except ValueError:
        return None


def _trading(j: _Judge, health: HttpReading) -> dict[str, Any]:
    """PaperTradingViolation and DailyLossOverLimit from /health's trading section. No answer
    from /health: nothing published (NodeDown and the health check say so already); a node
    without a trading section does not trade: both 0."""
    body = health.body if isinstance(health.body, dict) and health.error is None else None
    if body is None or "trading" not in body:
        return {}
    t = body.get("trading")
    if t is None:
        j.point(m.PAPER_VIOLATION, 0)
        j.point(m.LOSS_OVER_LIMIT, 0)
        return {"trading": None}
    if not isinstance(t, dict):
        return {}
    mode, required = t.get("mode"), t.get("required_mode")
    live_trades = _number(t.get("live_trades")) or 0.0
    # An unknown required mode counts as paper: live is allowed only where the config says so.
    must_be_paper = required != "live"
    violation = must_be_paper and (mode == "live" or live_trades > 0)
    j.point(m.PAPER_VIOLATION, 1 if violation else 0)
    risk = t.get("risk")
    if not isinstance(risk, dict):
        risk = {}
    loss, limit = _int(risk.get("daily_loss")), _int(risk.get("max_daily_loss"))
    over = risk.get("daily_loss_over_limit")
    if loss is not None and limit is not None:
        over = loss >= limit
    if isinstance(over, bool):
        j.point(m.LOSS_OVER_LIMIT, 1 if over else 0)
    return {
        "trading": {
            "mode": mode,
            "required_mode": required,
            "live_trades": int(live_trades),
            "paper_trading_violation": violation,
            "daily_loss": loss,
            "max_daily_loss": limit,
            "daily_loss_over_limit": over if isinstance(over, bool) else None,
        }
    }


def evaluate(readings: Readings, node: str, thresholds: Thresholds) -> Report:
    j = _Judge(node, thresholds)
    j.point(m.PROBE_DURATION, readings.duration_ms)
    j.http(m.HEALTHZ, readings.healthz, m.HEALTHZ_TIME, "/healthz")
    j.http(m.HEALTH, readings.health, m.HEALTH_TIME, "/health")
    body = readings.health.body
    block = _number(_get(body, "chain", "last_processed_block"))
    node_block = None if block is None else int(block)
    block_age = _number(_get(body, "chain", "last_block_age_seconds"))
    if block_age is not None:
        j.point(m.BLOCK_AGE, block_age)
    j.price(readings.health, readings.now)
    if readings.rpc_list_error is not None:
        j.result(m.RPC, False, f"could not read the RPC endpoints: {readings.rpc_list_error}")
    for r in readings.rpc:
        j.rpc(r, node_block)
    if readings.backup is not None:
        j.backup(readings.backup)
    facts = {
        "node_last_processed_block": node_block,
        "node_block_age_s": block_age,
        "rpc_heads": {r.name: r.head for r in readings.rpc},
        **_trading(j, readings.health),
    }
    return Report(node, tuple(j.checks), tuple(j.points), readings.duration_ms, facts)
