"""Which RPC endpoint to use: priority order, cooldowns after failures, head lag. Pure logic.

Endpoints are listed in order of preference. A failed endpoint cools down for a backoff delay
that grows with consecutive failures (a misconfigured one for a long fixed time), and the
listener moves to the next one at once. While a lower-priority endpoint is active, probes of
the better ones decide when to fail back: a better endpoint must answer twice in a row and
not lag. The active endpoint is also abandoned when it lags too far behind the best head seen.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Literal

from edge_node.rpc.backoff import Backoff
from shared.config import EndpointConfig

MISCONFIGURED_COOLDOWN_S = 300.0
PROBE_STREAK_FOR_FAILBACK = 2


@dataclass
class EndpointState:
    cfg: EndpointConfig
    priority: int
    backoff: Backoff
    failures: int = 0
    cooldown_until: float = 0.0
    # The last failure stays on record after recovery: operators want to see why it failed.
    last_error: str | None = None
    last_error_at: float | None = None  # wall clock
    misconfigured: bool = False
    head: int | None = None
    probe_streak: int = 0
    up: bool | None = None

    @property
    def name(self) -> str:
        return self.cfg.name


@dataclass
class EndpointSet:
    configs: list[EndpointConfig]
    transport: Literal["ws", "http"]
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 30.0
    max_head_lag: int = 5
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.states = [
            EndpointState(c, i, Backoff(self.backoff_initial_s, self.backoff_max_s, rng=self.rng))
            for i, c in enumerate(self.configs)
            if (c.ws_url if self.transport == "ws" else c.http_url)
        ]
        if not self.states:
            raise ValueError(f"no endpoint has a {self.transport} URL")

    def url(self, ep: EndpointState) -> str:
        url = ep.cfg.ws_url if self.transport == "ws" else ep.cfg.http_url
        assert url is not None
        return url

    def best_head(self) -> int | None:
        heads = [s.head for s in self.states if s.head is not None]
        return max(heads) if heads else None

    def lagging(self, ep: EndpointState) -> bool:
        best = self.best_head()
        return best is not None and ep.head is not None and best - ep.head > self.max_head_lag

    def choose(self, now: float) -> EndpointState | None:
        """The preferred endpoint that is not cooling down and not lagging, if any."""
        ready = [s for s in self.states if s.cooldown_until <= now]
        for s in ready:
            if not self.lagging(s):
                return s
        return ready[0] if ready else None

    def next_ready_at(self) -> float:
        return min(s.cooldown_until for s in self.states)

    def on_connected(self, ep: EndpointState) -> None:
        ep.misconfigured = False

    def on_good_session(self, ep: EndpointState) -> None:
        """A session that stayed healthy long enough: forget earlier failures."""
        ep.failures = 0
        ep.backoff.reset()

    def on_failure(self, ep: EndpointState, now: float, error: str, misconfigured: bool) -> None:
        ep.failures += 1
        ep.last_error = error
        ep.last_error_at = time.time()
        ep.misconfigured = misconfigured
        ep.probe_streak = 0
        delay = MISCONFIGURED_COOLDOWN_S if misconfigured else ep.backoff.next_delay()
        ep.cooldown_until = now + delay

    def on_probe(self, ep: EndpointState, head: int | None) -> None:
        ep.up = head is not None
        if head is None:
            ep.probe_streak = 0
            return
        ep.head = head
        ep.probe_streak += 1

    def on_head(self, ep: EndpointState, head: int) -> None:
        ep.head = head
        ep.up = True

    def switch_target(self, active: EndpointState, now: float) -> EndpointState | None:
        """An endpoint to move to now, if the active one should be left; else None."""
        for s in self.states:
            if s is active:
                break
            if (
                s.cooldown_until <= now
                and s.probe_streak >= PROBE_STREAK_FOR_FAILBACK
                and not self.lagging(s)
            ):
                return s
        if self.lagging(active):
            for s in self.states:
                if s is not active and s.cooldown_until <= now and not self.lagging(s):
                    return s
        return None
