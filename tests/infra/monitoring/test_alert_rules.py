"""The rules' loader (infra/monitoring/alert_rules.py): what it reads, and that the Pulumi
program gets the rules through it without importing the promtool cases."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from infra.monitoring import alert_rules
from shared import monitoring

ROOT = Path(__file__).resolve().parents[3]
CASE_MODULES = (
    "infra.monitoring.rule_cases",
    "infra.monitoring.cases_node",
    "infra.monitoring.cases_chain",
    "infra.monitoring.case_types",
)
PROGRAM = """
import sys, tempfile
from pathlib import Path
import pulumi
from tests.infra.program import base_config, run

@pulumi.runtime.test
def program():
    run(*base_config(Path(tempfile.mkdtemp())))

program()
print(" ".join(sorted(m for m in sys.modules if m.startswith("infra.monitoring."))))
"""


def test_alerting_rules_by_name_without_recording_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {"name": "a", "rules": [{"record": "x:rate5m", "expr": "rate(x[5m])"}]},
                    {"name": "b", "rules": [{"alert": "XHigh", "expr": "x > 1", "for": "1m"}]},
                ]
            }
        )
    )
    assert alert_rules.rules(path) == {"XHigh": {"alert": "XHigh", "expr": "x > 1", "for": "1m"}}


def test_the_default_is_the_rules_the_node_ships() -> None:
    text = monitoring.RULES.read_text()
    names = alert_rules.rules()
    assert len(names) > 10
    assert all(f"alert: {name}\n" in text for name in names)


def test_the_program_imports_no_promtool_case() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = done.stdout.split()
    assert "infra.monitoring.alert_rules" in loaded
    assert not set(CASE_MODULES) & set(loaded), loaded
