"""The benchmark scripts still run and print what the README quotes (tiny sizes; no timings
are asserted: those are figures to read, not tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent / "benchmarks"


def _run(script: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd=BENCH.parents[1],
    )
    start = out.stdout.index("{")  # the JSON object is the last thing printed
    return dict(json.loads(out.stdout[start:]))


def test_ingest_benchmark_runs() -> None:
    result = _run("bench_ingest.py", "--messages", "3000", "--repeat", "1")
    assert {"ours", "baseline_web3"} <= set(result)


def test_latency_benchmark_runs_and_both_paths_sign_every_message() -> None:
    result = _run(
        "bench_latency.py", "--messages", "300", "--gap-messages", "100", "--bursts", "10"
    )
    for side in ("ours", "baseline_web3"):
        for case in ("back_to_back", "with_gaps"):
            figures = result[side][case]
            assert figures["signed"] == figures["messages"] > 0
    assert set(result["meets_targets"]) == {"back_to_back", "with_gaps"}
    assert result["ours"]["burst"]["bursts"] == result["baseline_web3"]["burst"]["bursts"] == 10


@pytest.mark.chain
@pytest.mark.slow
def test_end_to_end_benchmark_runs() -> None:
    result = _run("bench_e2e_anvil.py", "--trials", "2")
    assert result["ours"]["trials"] == 2
    assert result["baseline_web3"]["trials"] == 2


def test_cold_start_benchmark_measures_the_baseline_and_every_handler() -> None:
    from functions.packaging import discover

    result = _run("bench_cold_start.py", "--runs", "1")
    assert result["baseline_powertools_bare"]["median_ms"] > 0
    assert set(result["ours"]) == {"foundation", *discover(BENCH.parents[1])}
    assert all(h["median_ms"] > 0 for h in result["ours"].values())


def test_report_benchmark_runs_and_both_sides_agree() -> None:
    result = _run("bench_report.py", "--trades", "400")
    assert result["trades"] == 400 and result["same_figures"] is True
    assert {"ours_s", "baseline_row_by_row_s", "meets_target"} <= set(result)


@pytest.mark.postgres
def test_backup_benchmark_runs_beside_pg_dump_and_verifies_its_restore() -> None:
    result = _run("bench_backup.py", "--swaps", "4000", "--small", "1000")
    assert set(result["sizes"]) == {"1000", "4000"}
    for size in result["sizes"].values():
        assert size["ours"]["bytes"] > 0 and size["pg_dump"]["bytes"] > 0
    assert result["restore_verify_state"] == "verified", result["restore_verify_problems"]
    assert {"speed_ratio_vs_pg_dump", "restore_verify_s"} <= set(result)


def test_probe_benchmark_runs_and_measures_every_answering_check() -> None:
    # A call timeout the local servers always answer within on a loaded machine (0.5 s did
    # not): every answering check must be measured; only the silent one times out.
    result = _run(
        "bench_probe.py", "--runs", "1", "--endpoints", "2", "--delay-ms", "20",
        "--timeout-s", "3", "--deadline-s", "30",
    )  # fmt: skip
    for side in ("ours_concurrent", "baseline_sequential"):
        figures = result[side]
        assert figures["others_measured_ok"] == figures["others"] == 6
        assert figures["silent_reported_as"] == "no answer (timed out after 3 s)"
    assert isinstance(result["meets_target"], bool)


def test_fanout_benchmark_runs_and_counts_duplicates() -> None:
    result = _run("bench_fanout.py", "--alerts", "20")
    assert result["ours"]["delivered_once"] == 60
    assert result["ours"]["duplicates"] == result["ours"]["lost"] == 0
    # the naive sender has no memory: every duplicate delivery reaches every channel again
    assert result["baseline_naive_urllib"]["duplicates"] == 60
