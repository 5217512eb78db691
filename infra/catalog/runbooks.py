"""The alarm-triggered runbooks and the function that runs each."""

from __future__ import annotations

# The alarm-triggered runbooks, by the name the fan-out's catalogue uses
# (functions/fanout/routing.py CATALOGUE) -> the function that runs it.
RUNBOOKS: dict[str, str] = {
    "pause-trading": "runbook-pause-trading",
    "emergency-stop": "runbook-emergency-stop",
    "node-down": "runbook-node-down",
    "prune": "runbook-prune",
}
