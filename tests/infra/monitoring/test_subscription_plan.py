"""The one subscription plan (infra/monitoring/subscription_plan.py) that the stack and the
laptop both make: the fan-out on every topic unfiltered; each runbook's catalog function on the
topics of the rules naming it, with the firing-only filter; a subset of functions; an unknown
runbook refused."""

from __future__ import annotations

import pytest

from infra.catalog import RUNBOOKS
from infra.monitoring import alert_rules, alertmanager_sns
from infra.monitoring.subscription_plan import FANOUT, UnknownRunbook, plan


def test_the_deployed_rules_plan() -> None:
    topics = alertmanager_sns.runbook_topics(alert_rules.rules())
    subs = plan(topics)
    fanout = [s for s in subs if s.function == FANOUT]
    assert [s.severity for s in fanout] == list(alertmanager_sns.SEVERITIES)
    assert all(s.filter_policy is None and s.runbook is None for s in fanout)
    runbooks = [s for s in subs if s.function != FANOUT]
    assert {(s.runbook, s.severity) for s in runbooks} == {
        (r, sev) for r, sevs in topics.items() for sev in sevs
    }
    for s in runbooks:
        assert s.runbook is not None
        assert s.function == RUNBOOKS[s.runbook]
        # what Alertmanager's template writes (shared/alert_notice.py), firing only
        assert s.filter_policy == {
            "source": ["alertmanager"],
            "runbook": [s.runbook],
            "status": ["firing"],
        }
    assert ("runbook-pause-trading-on-high") in {s.name for s in subs}
    assert len({s.name for s in subs}) == len(subs)  # one resource label each


def test_only_the_functions_there_are() -> None:
    topics = {"pause-trading": {"high"}, "emergency-stop": {"critical"}}
    subs = plan(topics, {"runbook-pause-trading"})
    assert [(s.function, s.severity) for s in subs] == [("runbook-pause-trading", "high")]
    assert len(plan(topics, {FANOUT})) == len(alertmanager_sns.SEVERITIES)


def test_a_runbook_the_catalog_lacks_is_refused_even_if_not_deployed() -> None:
    with pytest.raises(UnknownRunbook, match="'reboot-the-world'"):
        plan({"reboot-the-world": {"high"}}, {FANOUT})
