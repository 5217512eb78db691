"""What a report reads from the journal: one record per trade, plain values, no database.

Statuses a trade row can have (written by the trader, ``edge_node/execution``):

- paper: ``intended`` (being simulated) -> ``simulated`` | ``simulation_failed``
- live: ``submitted`` (journaled, maybe broadcast) -> ``mined`` | ``reverted`` | ``failed``
  (never mined by us: a nonce conflict, ...) | ``cancelled`` (its nonce was taken by our
  cancelling self-transfer, or it was stopped before broadcast)
- either: ``refused`` (a risk limit said no before anything was signed or simulated; the limit's
  name is in ``detail.limit``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

PAPER, LIVE = "paper", "live"
MODES = (LIVE, PAPER)

SUCCEEDED = frozenset({"mined", "simulated"})
# Settled trades that were tried: they count in the success rate's denominator.
ATTEMPTED = frozenset(
    {"mined", "reverted", "failed", "cancelled", "simulated", "simulation_failed"}
)
PENDING = frozenset({"intended", "submitted"})
REFUSED = "refused"
# Statuses after which a trade row never changes again (what the prune may archive).
SETTLED = ATTEMPTED | {REFUSED}

# The pseudo-pair that carries the gas of journal transactions belonging to no trade: the
# cancelling self-transfers that fill a nonce hole.
NONCE_FILLS = "(nonce fills)"


class TradeRecord(NamedTuple):
    """One trade as a report sees it. Amounts are raw units of the capital token (the chain's
    wrapped native token, so gas paid in native is in the same units). A tuple: a monthly
    report builds 100,000 of them."""

    id: int
    mode: str
    at: float  # when the trade was created (journaled), unix seconds, UTC
    pair: str
    status: str
    profit: int  # realised (live) or simulated (paper) profit, before gas; 0 when none
    gas: int  # gas paid (live: from the receipts; paper: the estimate)
    failure_class: str | None = None
    refusal_limit: str | None = None
    latency_s: float | None = None  # trigger -> first broadcast accepted (live)

    @property
    def net(self) -> int:
        return self.profit - self.gas


@dataclass(frozen=True, slots=True)
class LooseGas:
    """Gas of a live journal transaction that belongs to no trade (a nonce-hole fill)."""

    at: float
    gas: int


def failure_class(status: str, detail: dict[str, object], error_class: str | None) -> str | None:
    """The class a failed trade is counted under; None for a trade that did not fail.

    ``reverted`` is its own figure (mined, but the executor reverted); the other failures are
    classed by what the trader wrote: the simulation's revert, or the error it recorded.
    """
    if status == "reverted":
        return "reverted"
    if status == "simulation_failed":
        return "simulation_reverted" if "revert" in detail else _text(detail.get("error"))
    if status == "failed":
        return _text(detail.get("error") or error_class)
    return None


def refusal_limit(status: str, detail: dict[str, object]) -> str | None:
    if status != REFUSED:
        return None
    return _text(detail.get("limit"))


def _text(value: object) -> str:
    if not value:
        return "unknown"
    return str(value)[:64]
