"""The laptop stack's tests need Debian's prometheus and prometheus-alertmanager. Without them
a test skips on a laptop, and fails under CI (``CI=true``): the gate never passes without
having run the chain."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from laptop.aws import MotoServer
from laptop.monitoring import ALERTMANAGER_NAMES, PROMETHEUS_NAMES, ToolMissing, find_tool
from tests.support.prerequisites import missing


def require_monitoring_tools() -> None:
    try:
        find_tool(PROMETHEUS_NAMES)
        find_tool(ALERTMANAGER_NAMES)
    except ToolMissing as err:
        missing(str(err))


@pytest.fixture
def moto_url() -> Iterator[str]:
    """A moto server of its own (emptied at start: a new account)."""
    moto = MotoServer().start()
    try:
        yield moto.url
    finally:
        moto.stop()
