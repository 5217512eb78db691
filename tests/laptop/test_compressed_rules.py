"""The deployed rules in compressed time: only ``for:`` changes, scaled down with a floor; the
result is valid for promtool and RpcHeadLag fires on a cut endpoint within seconds."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from laptop import compressed_rules as cr
from shared import monitoring
from tests.laptop.conftest import require_monitoring_tools


@pytest.mark.parametrize(
    ("text", "ms"),
    [("0s", 0), ("500ms", 500), ("30s", 30_000), ("3m", 180_000), ("1h30m", 5_400_000)],
)
def test_prometheus_durations_are_read(text: str, ms: int) -> None:
    assert cr.duration_ms(text) == ms


@pytest.mark.parametrize("text", ["", "3", "3 m", "m3", "1.5h", "3mx"])
def test_what_is_no_duration_is_refused(text: str) -> None:
    with pytest.raises(cr.BadDuration):
        cr.duration_ms(text)


@pytest.mark.parametrize(
    ("text", "compressed"),
    [
        ("15m", "15s"),  # a minute becomes a second
        ("1h", "60s"),
        ("10m", "10s"),
        ("1h30m", "90s"),
        ("12m30s", "12500ms"),
        ("3m", "10s"),  # floored: before the first scrape, and a few scrapes at least
        ("30s", "10s"),
        ("0s", "0s"),  # an immediate rule stays immediate
    ],
)
def test_for_is_scaled_down_with_a_floor(text: str, compressed: str) -> None:
    assert cr.compressed_for(text) == compressed


def test_a_scale_and_floor_can_be_chosen() -> None:
    assert cr.compressed_for("1h", Decimal(1) / Decimal(3600), floor_ms=0) == "1s"


WAITS = ("for", "keep_firing_for")


def without_for(rules: dict[str, Any]) -> dict[str, Any]:
    return {
        **rules,
        "groups": [
            {**g, "rules": [{k: v for k, v in r.items() if k not in WAITS} for r in g["rules"]]}
            for g in rules["groups"]
        ],
    }


def test_only_the_waits_change_in_the_deployed_rules() -> None:
    deployed = cr.load(monitoring.RULES)
    compressed = cr.compress(deployed)
    assert without_for(compressed) == without_for(deployed)
    fors = [r.get("for") for g in compressed["groups"] for r in g["rules"]]
    assert all(f is not None and cr.duration_ms(f) <= 60_000 for f in fors)
    head_lag = next(
        r for g in compressed["groups"] for r in g["rules"] if r.get("alert") == "RpcHeadLag"
    )
    assert head_lag["for"] == "10s"
    assert head_lag["keep_firing_for"] == "10s"  # 2m held in production
    assert cr.load(monitoring.RULES) == deployed  # the input is left alone


CUT_ENDPOINT_TEST = """
rule_files: [{rules}]
evaluation_interval: 1s
tests:
  - interval: 1s
    input_series:
      # the only endpoint cut at 0 s: no head seen, so the lag stays 0; the age grows
      - series: 'head_lag_blocks{{job="edge-node", instance="n"}}'
        values: '0x30'
      - series: 'last_block_age_seconds{{job="edge-node", instance="n"}}'
        values: '0+1x30'
      - series: 'chain_block_interval_seconds{{job="edge-node", instance="n"}}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 15s  # above 5 intervals since 6 s: pending, not yet 10 s
        alertname: RpcHeadLag
        exp_alerts: []
      - eval_time: 16s
        alertname: RpcHeadLag
        exp_alerts:
          - exp_labels: {{severity: high, job: edge-node, instance: n}}
            exp_annotations: {annotations}
"""


def test_the_compressed_rules_check_and_head_lag_fires_within_seconds(tmp_path: Path) -> None:
    require_monitoring_tools()
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"
    rules = cr.write(cr.compress(cr.load(monitoring.RULES)), tmp_path / "rules.json")

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [promtool, *argv], capture_output=True, text=True, timeout=60, check=False
        )

    checked = run("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    annotations = {
        "summary": "the node is behind the chain head, or sees no new block",
        "description": "16 blocks behind the head, or block intervals since its last block, "
        "on n (chain.max_head_lag_blocks).",
        "value": "16",
        "threshold": "> 5 blocks, or > 5 block intervals without a block, for 3m",
        "runbook": "pause-trading",
    }
    tests = tmp_path / "cut_test.yml"
    tests.write_text(
        CUT_ENDPOINT_TEST.format(rules=json.dumps(str(rules)), annotations=json.dumps(annotations))
    )
    tested = run("test", "rules", str(tests))
    assert tested.returncode == 0, tested.stdout + tested.stderr
