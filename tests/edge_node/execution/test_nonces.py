from __future__ import annotations

import pytest

from edge_node.execution.nonces import NonceGap, NonceManager


def test_allocates_in_order_and_settles() -> None:
    n = NonceManager()
    with pytest.raises(RuntimeError):
        n.allocate()
    n.sync(chain_nonce=7, journal_open={})
    assert [n.allocate(), n.allocate(), n.allocate()] == [7, 8, 9]
    n.attach(7, "0xa")
    n.attach(7, "0xa2")  # a speed-up takes the same nonce
    assert n.settle(7) == ["0xa", "0xa2"]
    assert n.pending() == [8, 9]
    assert n.holes(chain_nonce=7) == []  # 7 is settled, 8 and 9 are held
    n.release(9)
    n.open.pop(8)  # a nonce that lost its transaction (what the trader must never let happen)
    assert n.holes(chain_nonce=7) == [8]
    n.unsettle(7, ["0xa2"])  # a reorg took 7's block away: held again, not a hole
    assert n.holes(chain_nonce=7) == [8]


def test_sync_keeps_journaled_nonces_the_chain_has_not_seen() -> None:
    n = NonceManager()
    # Crash after journaling nonce 12 but before broadcasting it: the chain is at 12.
    n.sync(chain_nonce=12, journal_open={11: ["0xold"], 12: ["0xjournaled"]})
    assert n.pending() == [12]  # 11 is below the chain's nonce: settled (or replaced)
    assert n.allocate() == 13  # 12 is not taken twice, and not skipped: it is rebroadcast


def test_sync_after_nonce_too_low() -> None:
    n = NonceManager()
    n.sync(chain_nonce=3, journal_open={})
    n.allocate()
    # Another process used the key: the chain is at 10.
    n.sync(chain_nonce=10, journal_open={3: ["0x3"]})
    assert n.pending() == []
    assert n.allocate() == 10


def test_only_the_last_unsent_nonce_can_be_released() -> None:
    n = NonceManager()
    n.sync(chain_nonce=0, journal_open={})
    a, b = n.allocate(), n.allocate()
    with pytest.raises(NonceGap):
        n.release(a)  # b is taken: releasing a would leave a hole
    n.release(b)
    assert n.allocate() == b
    n.attach(b, "0xb")
    with pytest.raises(NonceGap):
        n.release(b)  # signed and attached: it may be out there


def test_a_resync_never_takes_back_a_nonce_handed_out_meanwhile() -> None:
    n = NonceManager()
    n.sync(chain_nonce=0, journal_open={})
    assert n.allocate() == 0  # journaled
    journal_read = {0: ["0xa"]}  # what the resync read from the journal...
    assert n.allocate() == 1  # ...while a trade was signed, not journaled yet
    n.sync(chain_nonce=0, journal_open=journal_read)
    assert n.pending() == [0, 1]
    assert n.allocate() == 2  # not 1 again
