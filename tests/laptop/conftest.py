"""The laptop stack's tests need Debian's prometheus and prometheus-alertmanager. Without them
a test skips on a laptop, and fails under CI (``CI=true``): the gate never passes without
having run the chain."""

from __future__ import annotations

import os

import pytest

from laptop.monitoring import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, ToolMissing, find_tool


def require_monitoring_tools() -> None:
    try:
        find_tool(PROMETHEUS_NAMES)
        find_tool(ALERTMANAGER_NAMES)
    except ToolMissing as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {err}")
        pytest.skip(str(err))
