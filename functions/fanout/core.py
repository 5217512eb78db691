"""The fan-out's core: an event in, every alert in it delivered (or parked), a summary out.

No client is created here: the handler and ``edge-ops alert`` build the :class:`FanOut` with
theirs and pass it in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from functions.fanout.sources import parse_event

if TYPE_CHECKING:
    from functions.fanout.alert import Alert
    from functions.fanout.delivery import FanOut, Outcome


@dataclass(frozen=True, slots=True)
class Summary:
    alerts: tuple[Alert, ...]
    outcomes: tuple[Outcome, ...]

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def dead_lettered(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.status == "dead_lettered")

    def as_dict(self) -> dict[str, Any]:
        return {
            "alerts": len(self.alerts),
            "by_status": dict(Counter(o.status for o in self.outcomes)),
            "outcomes": [o.as_dict() for o in self.outcomes],
        }


def fan_out(event: Any, fanout: FanOut, budget_s: float) -> Summary:
    """Parse (UnreadableAlert on a direct event nobody can read) and deliver."""
    alerts = parse_event(event)
    outcomes = fanout.deliver(alerts, budget_s)
    return Summary(tuple(alerts), tuple(outcomes))
