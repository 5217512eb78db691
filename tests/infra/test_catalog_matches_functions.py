"""The catalog against the function packages on main (tests/infra/drift.py): handlers that
exist, the settings each function loads built from the environment the program sets, the
metrics and dimensions every alarm reads published by the function, the schedules its code
states. Each check is also shown catching a doctored entry."""

from __future__ import annotations

import dataclasses
from typing import Any

import pulumi
import pytest

from infra import catalog
from tests.infra import drift
from tests.infra.program import Checks, Program, run

BUILT = drift.built(catalog.FUNCTIONS)


def test_every_package_is_deployed_and_declared() -> None:
    assert drift.coverage_problems(catalog.FUNCTIONS, catalog.PENDING) == []
    assert {f.package for f in BUILT} == drift.packages_on_disk()


def test_a_package_missing_from_the_catalog_is_caught() -> None:
    without_probe = [f for f in catalog.FUNCTIONS if f.package != "probe"]
    problems = drift.coverage_problems(without_probe, catalog.PENDING)
    assert problems == ["functions/probe is deployed by no catalog function"]
    landed = drift.coverage_problems(catalog.FUNCTIONS, catalog.PENDING | {"probe"})
    assert "probe is on main now: take it out of catalog.PENDING" in landed


@pytest.mark.parametrize("fn", BUILT, ids=lambda f: f.name)
def test_handler_exists(fn: catalog.Function) -> None:
    assert drift.handler_problems(fn) == []


def test_a_wrong_handler_is_caught() -> None:
    fn = catalog.function("report-weekly")
    assert drift.handler_problems(dataclasses.replace(fn, handler="functions.report.handler.week"))
    assert drift.handler_problems(dataclasses.replace(fn, handler="functions.report.nope.weekly"))
    assert drift.handler_problems(dataclasses.replace(fn, package="prune"))


def test_schedules_are_the_codes() -> None:
    assert drift.schedule_problems(catalog.FUNCTIONS) == []


def test_a_schedule_the_code_disagrees_with_is_caught() -> None:
    monday = dataclasses.replace(
        catalog.function("report-weekly"), schedules=("cron(30 0 ? * MON *)",)
    )
    fns = [monday if f.name == "report-weekly" else f for f in catalog.FUNCTIONS]
    (problem,) = drift.schedule_problems(fns)
    assert "report-weekly" in problem and "FRI" in problem


def test_every_alarm_reads_a_published_metric_with_its_dimensions() -> None:
    assert drift.metric_problems(catalog.ALARMS, catalog.FUNCTIONS) == []
    checked = [
        a
        for a in catalog.ALARMS
        if a.namespace == catalog.NAMESPACE
        and dict(a.dimensions)["service"] in drift.packages_on_disk()
    ]
    assert len(checked) >= 16  # probe 7, backup 6, prune 1, report 2, fan-out 1


def test_no_alarm_awaits_a_metric_and_a_published_one_must_drop_the_mark() -> None:
    """Alarms whose metric no function publishes never fire: none is left (the probe publishes
    PaperTradingViolation and DailyLossOverLimit), and one marked awaiting whose metric is
    published is caught."""
    assert [a.name for a in catalog.ALARMS if a.awaiting] == []
    marked = dataclasses.replace(_alarm("PaperTradingViolation"), awaiting="the probe")
    (problem,) = drift.metric_problems([marked], catalog.FUNCTIONS)
    assert "drop `awaiting`" in problem


def _alarm(name: str) -> catalog.Alarm:
    return next(a for a in catalog.ALARMS if a.name == name)


def test_a_metric_no_function_publishes_is_caught() -> None:
    guessed = dataclasses.replace(_alarm("NodeDown"), metric="HealthzOk")
    (problem,) = drift.metric_problems([guessed], catalog.FUNCTIONS)
    assert "probe publishes no 'HealthzOk'" in problem


def test_an_alarm_without_the_metrics_dimensions_is_caught() -> None:
    # ProbeCheckOk is sent with Check and Node: an alarm on service alone never matches
    bare = dataclasses.replace(_alarm("NodeDown"), dimensions=(("service", "probe"),))
    (problem,) = drift.metric_problems([bare], catalog.FUNCTIONS)
    assert "dimensions" in problem
    wrong_check = dataclasses.replace(
        _alarm("NodeDown"),
        dimensions=(("service", "probe"), ("Check", "ping"), ("Node", catalog.NODE)),
    )
    assert drift.metric_problems([wrong_check], catalog.FUNCTIONS) == [
        "NodeDown: the probe has no check 'ping'"
    ]


# --- the environment the program sets, under Pulumi's mocks ---------------------------------


def _environments(p: Program, c: Checks) -> dict[str, dict[str, str]]:
    out = {}
    for r in p.of("aws:lambda/function:Function"):
        name = str(c.value(r, "name")).removeprefix("edge-prod-")
        out[name] = dict(c.value(r, "environment")["variables"])
    return out


def settings_built_from_the_programs_environment(p: Program, c: Checks) -> int:
    envs = _environments(p, c)
    for fn in BUILT:
        c.examined += 1
        problems = drift.settings_problems(fn, envs[fn.name])
        c.that(problems == [], f"{fn.name}: {problems}")
        handler = next(
            r.inputs["handler"]
            for r in p.of("aws:lambda/function:Function")
            if r.inputs["name"] == f"edge-prod-{fn.name}"
        )
        c.that(handler == fn.handler, f"{fn.name}: deployed handler {handler}")
    return len(BUILT)


def every_database_connection_requires_tls(p: Program, c: Checks) -> int:
    """libpq's sslmode comes from PGSSLMODE (the secret's text belongs to the rotation): every
    function that opens the store, and the database rotation, has it set to require."""
    envs = _environments(p, c)
    connecting = [fn for fn in BUILT if drift.reaches(fn, drift.OPENS_STORE)]
    connecting.append(catalog.function("rotate-database"))
    for fn in connecting:
        c.examined += 1
        c.that(envs[fn.name].get("PGSSLMODE") == "require", f"{fn.name}: {envs[fn.name]}")
    c.that(len(connecting) >= 5, f"only {[f.name for f in connecting]} connect?")
    return len(connecting)


def doctored_environments_are_caught(p: Program, c: Checks) -> int:
    envs = _environments(p, c)
    probe = catalog.function("probe")
    env = dict(envs["probe"])
    # the names the catalog guessed before the probe existed
    env["EDGE_OPS_RPC_SECRET_ID"] = env.pop("EDGE_OPS_RPC_ENDPOINTS_SECRET_ID")
    problems = drift.settings_problems(probe, env)
    c.examined += 1
    c.that(
        any("EDGE_OPS_RPC_SECRET_ID is set but ProbeSettings reads no such" in x for x in problems),
        str(problems),
    )
    c.that(any("EDGE_OPS_RPC_ENDPOINTS_SECRET_ID is not set" in x for x in problems), "")
    report = catalog.function("report-daily")
    env = {k: v for k, v in envs["report-daily"].items() if k != "EDGE_OPS_REPORT_TO"}
    c.examined += 1
    c.that(any("EDGE_OPS_REPORT_TO" in x for x in drift.settings_problems(report, env)), "")
    verify = catalog.function("backup-verify")
    env = {k: v for k, v in envs["backup-verify"].items() if "DATABASE" not in k}
    c.examined += 1
    c.that(
        any("opens the store" in x for x in drift.settings_problems(verify, env)),
        "verify needs the database (its scratch server)",
    )
    retention = catalog.function("backup-retention")
    c.examined += 1
    c.that(not drift.reaches(retention, drift.OPENS_STORE), "retention needs no database")
    return 4


@pytest.mark.parametrize(
    "policy",
    [
        settings_built_from_the_programs_environment,
        doctored_environments_are_caught,
        every_database_connection_requires_tls,
    ],
    ids=lambda f: f.__name__,
)
@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_environment(policy: Any, stack_config: tuple[dict[str, str], list[str]]) -> Any:
    config, secret_keys = stack_config
    return run(config, secret_keys).check(policy)


def _dashboard(**kw: Any) -> str:
    from infra.dashboard import body

    return body(
        region="eu-west-1",
        environment="edge-prod",
        instance_id="i-0123456789abcdef0",
        function_names=["edge-prod-probe"],
        alarm_arns=[],
        node_name="edge",
        endpoint_names=["primary", "backup-rpc"],
        **kw,
    )


def test_the_dashboard_draws_published_metrics() -> None:
    assert drift.dashboard_problems(_dashboard()) == []
    guessed = _dashboard().replace('"PriceUpdateAgeSeconds"', '"PriceAgeSeconds"')
    assert drift.dashboard_problems(guessed) == [
        "dashboard: probe publishes no PriceAgeSeconds with ['Node']"
    ]
