"""Nonce bookkeeping: allocate locally, never reuse, never skip. Pure logic.

Every signed transaction takes the next nonce; replacements (a speed-up, a cancel) reuse the
nonce of the transaction they replace, which is what replacing means. A nonce is settled when
any transaction holding it is mined. ``sync`` rebuilds the state from the chain and the
journal (at start, and after the chain said "nonce too low"): the next nonce is past both what
the chain has and everything the journal still holds open, so a nonce journaled but never
broadcast (a crash in between) is neither skipped nor taken twice: the node rebroadcasts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class NonceGap(Exception):
    """An allocated nonce cannot be released (a later one is in use): it must be filled."""


@dataclass
class NonceManager:
    next_nonce: int | None = None
    # nonce -> hashes of the transactions signed for it (the original, speed-ups, a cancel)
    open: dict[int, list[str]] = field(default_factory=dict)
    # Every nonce below this is known used on chain (settled by us, or below the chain's count).
    used_below: int = 0

    @property
    def ready(self) -> bool:
        return self.next_nonce is not None

    def sync(self, chain_nonce: int, journal_open: dict[int, list[str]]) -> None:
        """``chain_nonce``: the count of the sender's mined transactions ("latest");
        ``journal_open``: nonces the journal still holds as not settled, with their hashes.

        Never moves backwards: a nonce handed out while the journal was being read (a trade
        signed meanwhile, not yet journaled) stays taken, and so do the ones after it."""
        merged = {n: list(h) for n, h in journal_open.items() if n >= chain_nonce}
        for n, hashes in self.open.items():
            if n >= chain_nonce:
                merged.setdefault(n, list(hashes))
        self.open = merged
        self.used_below = max(self.used_below, chain_nonce)
        highest = max(self.open, default=chain_nonce - 1)
        self.next_nonce = max(chain_nonce, highest + 1, self.next_nonce or 0)

    def allocate(self) -> int:
        if self.next_nonce is None:
            raise RuntimeError("nonces not synced with the chain yet")
        n = self.next_nonce
        self.next_nonce = n + 1
        self.open[n] = []
        return n

    def attach(self, nonce: int, tx_hash: str) -> None:
        self.open.setdefault(nonce, []).append(tx_hash)

    def release(self, nonce: int) -> None:
        """Give back a nonce whose transaction was never journaled (so never sent)."""
        if self.open.get(nonce) or nonce != (self.next_nonce or 0) - 1:
            raise NonceGap(f"nonce {nonce} cannot be released; fill it with a transaction")
        del self.open[nonce]
        self.next_nonce = nonce

    def settle(self, nonce: int) -> list[str]:
        """The nonce is used on chain; returns the hashes that were signed for it."""
        self.used_below = max(self.used_below, nonce + 1)
        return self.open.pop(nonce, [])

    def unsettle(self, nonce: int, hashes: list[str]) -> None:
        """A reorganisation took the block that used ``nonce`` away: it is open again, with
        the transactions signed for it (nonces are used in order, so none above it stays
        used either)."""
        self.open[nonce] = list(hashes)
        self.used_below = min(self.used_below, nonce)

    def pending(self) -> list[int]:
        return sorted(self.open)

    def holes(self, chain_nonce: int) -> list[int]:
        """Nonces the chain is still waiting for that nothing of ours will use: handed out
        (below the next one), not known used, and not held open by a transaction or by a
        trade being signed and journaled. Every later transaction waits behind a hole, so
        each must be filled (with the cancelling self-transfer)."""
        if self.next_nonce is None:
            return []
        start = max(chain_nonce, self.used_below)
        return [n for n in range(start, self.next_nonce) if n not in self.open]
