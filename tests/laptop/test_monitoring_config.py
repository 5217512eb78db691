"""The laptop's Prometheus rule and Alertmanager routes, checked by the real tools: the rule
file is valid and fires (and does not) as meant; each alert reaches the receivers it should."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from laptop.monitoring import ALERTMANAGER_NAMES, LAPTOP_RULES, alertmanager_config, find_tool
from shared import metrics
from tests.laptop.conftest import require_monitoring_tools

RULE_TESTS = """
rule_files: [{rules}]
evaluation_interval: 1s
tests:
  - interval: 1s
    input_series:
      - series: 'last_block_age_seconds{{instance="n"}}'
        values: '1 2 3 4 5 6 7 8 9 10 11 12'
      - series: 'head_lag_blocks{{instance="n"}}'
        values: '0x12'
    alert_rule_test:
      - eval_time: 5s
        alertname: RpcHeadLag
        exp_alerts: []
      - eval_time: 11s
        alertname: RpcHeadLag
        exp_alerts:
          - exp_labels: {{severity: high, runbook: pause-trading, instance: n}}
            exp_annotations:
              summary: "The node is behind the chain head: 12 (seconds since its last block, \\
                or blocks behind)"
              runbook: pause-trading
  - interval: 1s
    input_series:
      - series: 'last_block_age_seconds{{instance="n"}}'
        values: '1x12'
      - series: 'head_lag_blocks{{instance="n"}}'
        values: '0x12'
    alert_rule_test:
      - eval_time: 11s
        alertname: RpcHeadLag
        exp_alerts: []
"""


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_the_rule_reads_only_metrics_the_node_exports() -> None:
    text = LAPTOP_RULES.read_text()
    exported = {
        spec.name for spec in vars(metrics).values() if isinstance(spec, metrics.MetricSpec)
    }
    for name in ("last_block_age_seconds", "head_lag_blocks"):
        assert name in text and name in exported


def test_rules_check_and_fire_with_promtool(tmp_path: Path) -> None:
    require_monitoring_tools()
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package"
    checked = run([promtool, "check", "rules", str(LAPTOP_RULES)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = tmp_path / "rules_test.yml"
    tests.write_text(RULE_TESTS.format(rules=json.dumps(str(LAPTOP_RULES))))
    tested = run([promtool, "test", "rules", str(tests)])
    assert tested.returncode == 0, tested.stdout + tested.stderr


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (
            ["alertname=RpcHeadLag", "severity=high", "runbook=pause-trading"],
            "runbook-pause-trading,fanout",
        ),
        (["alertname=ServiceDown", "severity=critical"], "fanout"),
    ],
)
def test_routes_reach_the_fanout_and_the_runbook(
    tmp_path: Path, labels: list[str], receivers: str
) -> None:
    require_monitoring_tools()
    find_tool(ALERTMANAGER_NAMES)
    amtool = shutil.which("amtool")
    assert amtool, "amtool comes with Debian's prometheus-alertmanager package"
    cfg = tmp_path / "alertmanager.yml"
    cfg.write_text(json.dumps(alertmanager_config("http://127.0.0.1:9", ("pause-trading",))))
    checked = run([amtool, "check-config", str(cfg)])
    assert checked.returncode == 0, checked.stdout + checked.stderr
    routed = run(
        [
            amtool,
            "config",
            "routes",
            "test",
            f"--config.file={cfg}",
            "--verify.receivers",
            receivers,
            *labels,
        ]
    )
    assert routed.returncode == 0, routed.stdout + routed.stderr


def test_the_rule_agrees_with_the_fanout_catalogue_and_the_runbooks() -> None:
    """The severity and runbook labels the rule sets are the ones the fan-out's catalogue
    gives the alert, and the runbook is one infra/catalog/ deploys."""
    import re

    from functions.fanout.routing import lookup
    from infra.catalog import RUNBOOKS

    text = LAPTOP_RULES.read_text()
    alerts = re.findall(r"^\s*- alert: (\S+)$", text, re.M)
    severities = re.findall(r"^\s+severity: (\S+)$", text, re.M)
    runbooks = re.findall(r"^\s+runbook: (\S+)$", text, re.M)  # label, then annotation
    assert alerts and len(severities) == len(alerts) and len(runbooks) == 2 * len(alerts)
    for i, alert in enumerate(alerts):
        known = lookup(alert)
        assert known is not None, alert
        assert severities[i] == known.severity.value
        assert runbooks[2 * i] == runbooks[2 * i + 1] == known.runbook
        assert known.runbook in RUNBOOKS
