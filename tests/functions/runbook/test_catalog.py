"""The runbooks the Pulumi catalog declares are the ones built, with the access they use."""

from __future__ import annotations

import importlib

from functions.runbook.runner import RUNBOOKS
from infra import catalog
from infra.catalog import Access


def test_every_declared_runbook_has_its_handler_and_access() -> None:
    assert set(catalog.RUNBOOKS) == set(RUNBOOKS)
    for name, fn_name in catalog.RUNBOOKS.items():
        fn = catalog.function(fn_name)
        module, _, attr = fn.handler.rpartition(".")
        assert callable(getattr(importlib.import_module(module), attr)), fn.handler
        needed = {Access.RUNBOOK_LOCKS, Access.ALARM_STATE, Access.NOTIFY, Access.INCIDENTS_RW}
        assert needed <= set(fn.access), name  # lock, alarm state, announce, incident reports
        assert Access.DB_SECRET in fn.access, name  # the audit log
        assert fn.concurrency == 1


def test_the_alarms_that_stop_the_node() -> None:
    stopping = {a.name for a in catalog.ALARMS if a.runbook == "emergency-stop"}
    assert {"PaperTradingViolation", "LossLimit"} <= stopping
    assert all(a.runbook in catalog.RUNBOOKS for a in catalog.ALARMS if a.runbook)
