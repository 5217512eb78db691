"""What the catalog (infra/catalog/) says against what the functions' code declares: each
check returns the disagreements as lines (empty: they agree), so the tests can show both that
the real catalog agrees and that a doctored entry is caught.

The code is read without importing any handler (a handler's import sets up logging and
metrics): handlers by their source (ast), settings, metric names and schedules from the
side-effect-free modules each package keeps them in (``DECLARED`` below: a new function
package must be added there, or the coverage check fails).
"""

from __future__ import annotations

import ast
import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn
from unittest import mock

from pydantic import AliasChoices

from functions.common.errors import BadInput
from functions.common.settings import ENV_PREFIX, OpsSettings, load_settings
from infra import catalog
from infra.catalog import Alarm, Function

ROOT = Path(__file__).resolve().parents[2]
NOT_FUNCTIONS = frozenset({"common", "cli"})  # functions/ packages that are no function
MetricDims = dict[str, set[frozenset[str]]]  # metric -> the dimension-name sets it is sent with


def _plain(dimensions: Mapping[str, tuple[str, ...]]) -> MetricDims:
    return {name: {frozenset(dims)} for name, dims in dimensions.items()}


def _backup() -> MetricDims:
    from functions.backup import metrics

    return {name: {frozenset()} for name in metrics.ALL}


def _probe() -> MetricDims:
    from functions.probe import metrics

    out: MetricDims = {}
    for m in (*metrics.ALL, metrics.RPC_CHECK_OK):
        out.setdefault(m.name, set()).add(frozenset(m.dimensions))
    return out


def _report() -> MetricDims:
    from functions.report import settings

    return _plain(settings.DIMENSIONS)


def _prune() -> MetricDims:
    from functions.prune import settings

    return _plain(settings.DIMENSIONS)


def _fanout() -> MetricDims:
    from functions.fanout import metrics

    return _plain(metrics.DIMENSIONS)


def _rotation() -> MetricDims:
    from functions.rotation import metrics

    return _plain(metrics.DIMENSIONS)


def _runbook() -> MetricDims:
    # functions/runbook/handler.py names its one metric inline (no alarm reads it)
    return {"RunbookFailed": {frozenset({"runbook"})}}


# package -> the metrics it declares (beyond ``service`` and ``environment``, on every one)
DECLARED: dict[str, Callable[[], MetricDims]] = {
    "backup": _backup,
    "probe": _probe,
    "report": _report,
    "prune": _prune,
    "fanout": _fanout,
    "runbook": _runbook,
    "rotation": _rotation,
}


def _schedules() -> dict[str, str]:
    """handler path -> the schedule its package's code states."""
    from functions.backup.metrics import SCHEDULES as BACKUP
    from functions.prune.settings import SCHEDULE as PRUNE
    from functions.report.settings import SCHEDULES as REPORT

    out = {f"functions.backup.handler.{k}": v for k, v in BACKUP.items()}
    out.update({f"functions.report.handler.{k}": v for k, v in REPORT.items()})
    out["functions.prune.handler.handler"] = PRUNE
    return out


def packages_on_disk(root: Path = ROOT) -> set[str]:
    return {
        p.name
        for p in (root / "functions").iterdir()
        if (p / "__init__.py").is_file() and p.name not in NOT_FUNCTIONS
    }


def built(functions: Iterable[Function]) -> list[Function]:
    """The catalog's functions whose package is on main (the others are PENDING)."""
    return [f for f in functions if f.package not in catalog.PENDING]


# --- coverage -----------------------------------------------------------------------------


def coverage_problems(functions: Iterable[Function], pending: frozenset[str]) -> list[str]:
    fns = list(functions)
    on_disk = packages_on_disk()
    problems = []
    for package in sorted(on_disk - set(DECLARED)):
        problems.append(f"functions/{package}: add its metrics to DECLARED (tests/infra/drift.py)")
    for package in sorted(on_disk - {f.package for f in fns}):
        problems.append(f"functions/{package} is deployed by no catalog function")
    for package in sorted(pending & on_disk):
        problems.append(f"{package} is on main now: take it out of catalog.PENDING")
    for f in fns:
        if f.package not in pending and f.package not in on_disk:
            problems.append(f"{f.name}: no package functions/{f.package}")
    return problems


# --- handlers -----------------------------------------------------------------------------


def _module(dotted: str) -> tuple[Path, ast.Module] | None:
    path = ROOT / (dotted.replace(".", "/") + ".py")
    if not path.is_file():
        return None
    return path, ast.parse(path.read_text(encoding="utf-8"))


def _top_level(tree: ast.Module) -> dict[str, ast.AST]:
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            out[node.name] = node
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    out[target.id] = node
    return out


def handler_problems(fn: Function) -> list[str]:
    module, _, attr = fn.handler.rpartition(".")
    if not module.startswith(f"functions.{fn.package}."):
        return [f"{fn.name}: handler {fn.handler} is outside functions/{fn.package}"]
    found = _module(module)
    if found is None:
        return [f"{fn.name}: no module {module} (handler {fn.handler})"]
    path, tree = found
    problems = []
    if attr not in _top_level(tree):
        problems.append(f"{fn.name}: {path.relative_to(ROOT)} defines no {attr!r}")
    services = [
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and n.func.id == "for_function"
        and n.args
        and isinstance(n.args[0], ast.Constant)
    ]
    if services != [fn.package]:
        # the alarms read metrics by service = the package's name
        problems.append(f"{fn.name}: its metrics' service is {services}, not {fn.package!r}")
    return problems


def reaches(fn: Function, names: frozenset[str]) -> bool:
    """Whether the handler, through the module's own functions it calls, names one of
    ``names`` (e.g. ``Store``: it opens the database)."""
    module, _, attr = fn.handler.rpartition(".")
    found = _module(module)
    if found is None:
        return False
    defs = {k: v for k, v in _top_level(found[1]).items() if isinstance(v, ast.FunctionDef)}
    seen: set[str] = set()
    todo = [attr]
    while todo:
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        for node in ast.walk(defs[name]):
            ident = (
                node.id
                if isinstance(node, ast.Name)
                else node.attr
                if isinstance(node, ast.Attribute)
                else None
            )
            if ident in names:
                return True
            if ident in defs:
                todo.append(ident)
    return False


def schedule_problems(functions: Iterable[Function]) -> list[str]:
    code = _schedules()
    fns = list(functions)
    problems = []
    for f in fns:
        if f.handler in code and f.schedules != (code[f.handler],):
            problems.append(f"{f.name}: catalog {f.schedules} but the code says {code[f.handler]}")
    for handler in sorted(set(code) - {f.handler for f in fns}):
        problems.append(f"{handler} has a schedule in its code but no catalog function")
    return problems


# --- settings -----------------------------------------------------------------------------

OPENS_STORE = frozenset({"Store", "url_from_secret"})


def settings_class(fn: Function) -> type[OpsSettings]:
    module, _, name = fn.settings.partition(":")
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, OpsSettings), fn.settings
    return cls


def variables(cls: type[OpsSettings]) -> set[str]:
    """Every environment variable the settings class reads."""
    out: set[str] = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            out.update(str(c) for c in alias.choices)
        elif isinstance(alias, str):
            out.add(alias)
        else:
            out.add(ENV_PREFIX + name.upper())
    return out


# What a handler needs beyond the model's required fields (the accessor it calls, which fails
# without the setting), by settings class.
NEEDS: dict[str, Callable[[Any], object]] = {
    "BackupSettings": lambda s: s.location(),
    "ProbeSettings": lambda s: (
        s.require_node_url(),
        s.node_token_secret_id or s.node_token or _missing("EDGE_OPS_NODE_TOKEN_SECRET_ID"),
        s.rpc_endpoints_secret_id
        or s.rpc_endpoints
        or _missing("EDGE_OPS_RPC_ENDPOINTS_SECRET_ID"),
    ),
    "RunbookSettings": lambda s: (
        s.runbook_table or _missing("EDGE_OPS_RUNBOOK_TABLE"),
        s.incidents_to or _missing("EDGE_OPS_INCIDENTS_TO"),
    ),
    "FanoutSettings": lambda s: (
        s.alert_idempotency_table or _missing("EDGE_OPS_ALERT_IDEMPOTENCY_TABLE"),
        s.alert_dlq_url or _missing("EDGE_OPS_ALERT_DLQ_URL"),
    ),
}


def _missing(variable: str) -> NoReturn:
    raise BadInput(f"{variable} is not set")


def settings_problems(fn: Function, env: Mapping[str, str]) -> list[str]:
    """Builds the function's settings from exactly ``env`` (what the program sets)."""
    if not fn.settings:
        return [f"{fn.name}: the catalog names no settings class"]
    cls = settings_class(fn)
    known = variables(cls)
    problems = [
        f"{fn.name}: {k} is set but {cls.__name__} reads no such variable"
        for k in sorted(env)
        if k.startswith(ENV_PREFIX) and k not in known
    ]
    with mock.patch.dict(os.environ, dict(env), clear=True):
        try:
            settings = load_settings(cls)
            NEEDS.get(cls.__name__, lambda s: None)(settings)
            if (
                reaches(fn, OPENS_STORE)
                and settings.database_url is None
                and settings.database_secret_id is None
            ):
                _missing("EDGE_OPS_DATABASE_SECRET_ID (the handler opens the store)")
        except BadInput as err:
            problems.append(f"{fn.name}: {err}")
    return problems


# --- metrics ------------------------------------------------------------------------------


def metric_problems(alarms: Iterable[Alarm], functions: Iterable[Function]) -> list[str]:
    """Every alarm on a function's metric reads a metric that function's package declares,
    with exactly the dimensions it is published with (CloudWatch matches all or nothing)."""
    by_name = {f.name: f for f in functions}
    problems = []
    for alarm in alarms:
        if alarm.namespace != catalog.NAMESPACE:
            continue
        dims = dict(alarm.dimensions)
        service = dims.pop("service", None)
        fn = next((f for f in by_name.values() if f.package == service), by_name.get(service or ""))
        if fn is None:
            problems.append(f"{alarm.name}: service {service!r} is no catalog function")
            continue
        if fn.package in catalog.PENDING:
            continue
        declared = DECLARED[fn.package]()
        if alarm.awaiting:
            if alarm.metric in declared:
                problems.append(f"{alarm.name}: {alarm.metric} is published: drop `awaiting`")
            continue
        if alarm.metric not in declared:
            problems.append(f"{alarm.name}: {fn.package} publishes no {alarm.metric!r}")
            continue
        if frozenset(dims) not in declared[alarm.metric]:
            sets = sorted(sorted(s) for s in declared[alarm.metric])
            problems.append(
                f"{alarm.name}: {alarm.metric} is published with dimensions {sets}, "
                f"the alarm reads {sorted(dims)}"
            )
        if fn.package == "probe" and "Check" in dims:
            from functions.probe.metrics import CHECKS

            if dims["Check"] not in CHECKS:
                problems.append(f"{alarm.name}: the probe has no check {dims['Check']!r}")
    return problems


def dashboard_problems(body: str) -> list[str]:
    """Every EdgeOps metric a dashboard widget draws is one its function declares, with the
    dimensions it is published with (else the widget stays empty)."""
    import json

    problems = []
    for widget in json.loads(body)["widgets"]:
        for line in widget.get("properties", {}).get("metrics", []):
            namespace, metric, *pairs = line
            if namespace != catalog.NAMESPACE:
                continue
            dims = dict(zip(pairs[::2], pairs[1::2], strict=True))
            package = dims.pop("service", "")
            dims.pop("environment", None)
            declared = DECLARED[package]() if package in DECLARED else {}
            if frozenset(dims) not in declared.get(metric, set()):
                problems.append(f"dashboard: {package} publishes no {metric} with {sorted(dims)}")
    return problems
