"""A stack that fails half-way through starting leaves nothing behind: Prometheus refuses a bad
rule file after anvil, the node, moto, the receivers and Alertmanager are up; the start raises
with Prometheus's own words, and every process and server it had started is stopped."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from laptop.monitoring import Monitoring
from laptop.stack import Stack
from tests.laptop.conftest import require_monitoring_tools

pytestmark = [pytest.mark.slow, pytest.mark.chain, pytest.mark.timeout(240)]


def port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((host, int(port))) == 0


def test_a_failed_start_stops_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_monitoring_tools()
    bad = tmp_path / "bad.rules.yml"
    bad.write_text("groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: (\n")
    seen: dict[str, Any] = {}
    real_start = Monitoring.start

    def spying_start(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["monitoring"] = self
        real_start(self, *args, **kwargs)

    monkeypatch.setattr(Monitoring, "start", spying_start)
    s = Stack(tmp_path / "stack", rules=bad)
    with pytest.raises(RuntimeError, match="prometheus exited"):
        s.__enter__()
    assert s.chain is not None and s.chain.anvil is not None and s.chain.runner is not None
    assert s.chat is not None and s.moto is not None and s.control is not None
    monitoring = seen["monitoring"]
    assert monitoring.alertmanager.proc.poll() is not None  # Alertmanager was up, is stopped
    assert monitoring.prometheus.proc.poll() is not None
    assert not s.chain.runner._thread.is_alive()  # the node drained and ended
    assert not s.chain.anvil.running
    assert s.receivers is not None  # the subscriptions' pollers ended
    assert not [t for t in s.receivers._threads if t.is_alive()]
    for url in (s.chat.url, s.moto.url, s.control.url, monitoring.alertmanager_url):
        assert not port_open(url), url
