"""Cold start of the functions: the import time of each handler module in a fresh interpreter,
beside powertools' bare handler (a module that imports Logger, Metrics and Tracer, creates
them and defines a handler). Prints one JSON object.

Every ``functions/<name>/handler.py`` is found and measured, so functions added later are too;
``foundation`` is what every handler pays at least (all of functions/common and the
observability set). The interpreter runs with Lambda's environment variables set
(LAMBDA_TASK_ROOT, AWS_LAMBDA_FUNCTION_NAME), so that Tracer behaves as it does in Lambda.
Bytecode is the one `make setup` compiled; Lambda compiles the artifact's modules at each
cold start (the artifact ships none, see README), so absolute figures there are higher for
both sides alike.

Target (issue 8): under 300 ms for every handler that does not draw charts (a package that
imports matplotlib is counted as drawing charts).

    .venv/bin/python tests/benchmarks/bench_cold_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from functions.packaging import discover  # noqa: E402 (after the path is set)

TARGET_MS = 300.0

BARE = """
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="bare")
metrics = Metrics(namespace="Bare", service="bare")
tracer = Tracer(service="bare")


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return {"ok": True}
"""

FOUNDATION = """
from functions.common import aws, errors, s3url, secrets, settings, store
from functions.common.observability import for_function

obs = for_function("foundation")
"""

MEASURE = """
import sys, time
t0 = time.perf_counter()
__import__(sys.argv[1])
print((time.perf_counter() - t0) * 1000)
"""


def lambda_env(extra_path: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "EDGE_OPS_"))}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT), extra_path]),
            "LAMBDA_TASK_ROOT": str(ROOT),
            "AWS_LAMBDA_FUNCTION_NAME": "edge-ops-bench",
            "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
            "AWS_DEFAULT_REGION": env.get("AWS_DEFAULT_REGION", "us-east-1"),
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        }
    )
    return env


def import_ms(module: str, env: dict[str, str], runs: int) -> dict[str, float]:
    times = []
    for i in range(runs + 1):
        done = subprocess.run(
            [sys.executable, "-c", MEASURE, module],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            check=True,
            timeout=120,
        )
        if i:  # the first run writes bytecode of new modules; it is not a measurement
            times.append(float(done.stdout.strip().splitlines()[-1]))
    return {
        "median_ms": round(statistics.median(times), 1),
        "min_ms": round(min(times), 1),
        "max_ms": round(max(times), 1),
    }


def draws_charts(name: str) -> bool:
    package = ROOT / "functions" / name
    return any("matplotlib" in p.read_text() for p in package.rglob("*.py"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "bare_powertools_handler.py").write_text(BARE)
        Path(tmp, "foundation_handler.py").write_text(FOUNDATION)
        env = lambda_env(tmp)
        baseline = import_ms("bare_powertools_handler", env, args.runs)
        measured = {"foundation": import_ms("foundation_handler", env, args.runs)}
        charts = {"foundation": False}
        for name in discover(ROOT):
            measured[name] = import_ms(f"functions.{name}.handler", env, args.runs)
            charts[name] = draws_charts(name)
    handlers = {}
    for name, figures in measured.items():
        handlers[name] = {
            **figures,
            "over_baseline_ms": round(figures["median_ms"] - baseline["median_ms"], 1),
            "draws_charts": charts[name],
            "meets_target": charts[name] or figures["median_ms"] < TARGET_MS,
        }
    print(
        json.dumps(
            {
                "benchmark": "cold_start_import",
                "python": sys.version.split()[0],
                "runs": args.runs,
                "target_ms": TARGET_MS,
                "baseline_powertools_bare": baseline,
                "ours": handlers,
                "meets_targets": all(h["meets_target"] for h in handlers.values()),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
