"""The laptop's Alertmanager routes, checked by amtool: every alert reaches the fan-out; the
alerts whose deployed rule names the pause-trading runbook reach it too; an alert naming a
runbook the laptop does not run (emergency-stop, node-down, prune) reaches the fan-out only."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from laptop import compressed_rules
from laptop.monitoring import (
    ALERTMANAGER_NAMES,
    DEPLOYED_RULES,
    LAPTOP_RUNBOOKS,
    alertmanager_config,
    find_tool,
)
from tests.laptop.conftest import require_monitoring_tools


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def laptop_routes() -> dict[str, tuple[str, ...]]:
    named = compressed_rules.runbook_alerts(compressed_rules.load(DEPLOYED_RULES))
    return {name: named.get(name, ()) for name in LAPTOP_RUNBOOKS}


def test_the_laptop_runs_only_the_pause_runbook() -> None:
    assert laptop_routes() == {"pause-trading": ("MarketDataStale", "RpcHeadLag")}


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["alertname=RpcHeadLag", "severity=high"], "runbook-pause-trading,fanout"),
        (["alertname=MarketDataStale", "severity=high"], "runbook-pause-trading,fanout"),
        (["alertname=PaperTradingViolation", "severity=critical"], "fanout"),
        (["alertname=TradingBotDown", "severity=critical"], "fanout"),
        (["alertname=DiskSpaceWarning", "severity=medium"], "fanout"),
        (["alertname=RpcHeadLagX", "severity=high"], "fanout"),  # the regex is anchored
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
    cfg.write_text(json.dumps(alertmanager_config("http://127.0.0.1:9", laptop_routes())))
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


def test_a_runbook_no_alert_names_gets_no_route() -> None:
    cfg = alertmanager_config("http://x", {"pause-trading": ("RpcHeadLag",), "prune": ()})
    assert [r["name"] for r in cfg["receivers"]] == ["fanout", "runbook-pause-trading"]
