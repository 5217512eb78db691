"""Which function hears which alert topic, with which filter policy: the one plan that
infra/alert_subscriptions.py makes in AWS and laptop/subscriptions.py makes in moto. Pure.

- The fan-out hears every severity topic, unfiltered.
- Each runbook the Prometheus rules name (``alertmanager_sns.runbook_topics``) is run by its
  catalog function (infra/catalog/runbooks.py), subscribed to the topics those rules' alerts
  are published to, filtered on the message attributes to firing alerts naming that runbook
  (``alertmanager_sns.runbook_filter_policy``): a resolution never starts one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from infra.catalog.runbooks import RUNBOOKS
from infra.monitoring import alertmanager_sns

FANOUT = "fanout"  # the fan-out's catalog name


class UnknownRunbook(ValueError):
    """A rule names a runbook the catalog has no function for: fix the rule's annotation."""


@dataclass(frozen=True, slots=True)
class Subscription:
    function: str  # the catalog's name of the subscribed function
    severity: str  # the topic's (one of alertmanager_sns.SEVERITIES)
    runbook: str | None  # the runbook the function runs; None for the fan-out
    filter_policy: dict[str, list[str]] | None  # on the message attributes

    @property
    def name(self) -> str:
        """``<function>-on-<severity>``: the deployed resource's label, the laptop's queue's."""
        return f"{self.function}-on-{self.severity}"


def plan(
    runbook_topics: Mapping[str, Collection[str]],
    functions: Collection[str] | None = None,
) -> list[Subscription]:
    """Every subscription, for ``runbook_topics`` (runbook -> the severities whose topic
    carries alerts naming it). ``functions``: the functions there are (a stack may deploy a
    subset, the laptop runs a few); None for all of them. A runbook the catalog does not know
    is refused, deployed or not."""

    def wanted(function: str) -> bool:
        return functions is None or function in functions

    out: list[Subscription] = []
    if wanted(FANOUT):
        out += [Subscription(FANOUT, sev, None, None) for sev in alertmanager_sns.SEVERITIES]
    for runbook, severities in sorted(runbook_topics.items()):
        function = RUNBOOKS.get(runbook)
        if function is None:
            raise UnknownRunbook(
                f"a Prometheus rule names runbook {runbook!r}; the catalog has {sorted(RUNBOOKS)}"
            )
        if not wanted(function):
            continue
        policy = alertmanager_sns.runbook_filter_policy(runbook)
        out += [Subscription(function, sev, runbook, policy) for sev in sorted(severities)]
    return out
