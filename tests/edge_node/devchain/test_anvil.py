"""Anvil process control: refusing real chains, start/stop/kill, and the RPC helpers."""

from __future__ import annotations

import os
import signal

import pytest
from eth_account import Account

from edge_node.devchain.anvil import FORBIDDEN_CHAIN_IDS, Anvil, AnvilError
from tests.support.waiting import eventually

_ANVIL_DEFAULT_KEY0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("chain_id", sorted(FORBIDDEN_CHAIN_IDS))
def test_refuses_public_chain_ids(chain_id: int) -> None:
    with pytest.raises(ValueError, match="public network"):
        Anvil(chain_id=chain_id)


def test_refuses_bsc_and_ethereum_mainnet_explicitly() -> None:
    assert {1, 56} <= FORBIDDEN_CHAIN_IDS


def test_rejects_nonsense_arguments() -> None:
    with pytest.raises(ValueError, match="block_time"):
        Anvil(block_time=0)
    with pytest.raises(ValueError, match="account"):
        Anvil(accounts=0)


@pytest.mark.chain
def test_start_answers_and_stop_removes_the_process() -> None:
    chain = Anvil(chain_id=1337, accounts=3)
    with chain:
        assert chain.rpc("eth_chainId") == hex(1337)
        assert chain.http_url == f"http://127.0.0.1:{chain.port}"
        assert chain.ws_url == f"ws://127.0.0.1:{chain.port}"
        pid = chain.pid
        log_path = chain.log_path
        assert _process_exists(pid)
        assert log_path.exists()
    assert not chain.running
    assert not _process_exists(pid)
    assert not log_path.exists()
    with pytest.raises(ConnectionRefusedError):
        chain.rpc("eth_chainId")
    chain.stop()  # idempotent


@pytest.mark.chain
def test_a_stopped_anvil_can_start_again_as_a_fresh_chain() -> None:
    chain = Anvil(accounts=1)
    with chain:
        chain.mine(5)
    with chain:
        assert chain.block_number() == 0
        with pytest.raises(AnvilError, match="already running"):
            chain.start()


@pytest.mark.chain
def test_kill_sigkills_anvil() -> None:
    with Anvil(accounts=1) as chain:
        pid = chain.pid
        chain.kill()
        assert not chain.running
        assert not _process_exists(pid)
        assert chain.returncode == -signal.SIGKILL
        with pytest.raises(ConnectionRefusedError):
            chain.rpc("eth_blockNumber")


@pytest.mark.chain
def test_start_failure_reports_anvil_output() -> None:
    with pytest.raises(AnvilError, match="--no-such-flag"):
        Anvil(extra_args=["--no-such-flag"]).start()


@pytest.mark.chain
def test_dev_accounts_come_with_matching_keys() -> None:
    with Anvil(accounts=4) as chain:
        accounts = chain.accounts
        assert len(accounts) == 4
        assert accounts[0].private_key == _ANVIL_DEFAULT_KEY0
        for acct in accounts:
            assert Account.from_key(acct.private_key).address == acct.address
        assert chain.addresses == [a.address for a in accounts]


@pytest.mark.chain
def test_mine_snapshot_revert_and_automine() -> None:
    with Anvil(accounts=2) as chain:
        assert chain.block_number() == 0
        chain.mine(3)
        assert chain.block_number() == 3
        snap = chain.snapshot()
        chain.mine(2)
        assert chain.revert(snap)
        assert chain.block_number() == 3

        chain.set_automine(False)
        sender, receiver = chain.addresses
        tx = chain.rpc("eth_sendTransaction", [{"from": sender, "to": receiver, "value": "0x1"}])
        assert chain.rpc("eth_getTransactionReceipt", [tx]) is None
        chain.mine()
        assert chain.rpc("eth_getTransactionReceipt", [tx])["blockNumber"] == hex(4)
        chain.set_automine(True)


@pytest.mark.chain
def test_reorg_replaces_recent_blocks() -> None:
    with Anvil(accounts=3) as chain:
        sender, a, b = chain.addresses
        chain.rpc("eth_sendTransaction", [{"from": sender, "to": a, "value": "0x1"}])
        chain.mine(2)
        head = chain.block_number()
        old_hash = chain.rpc("eth_getBlockByNumber", [hex(head - 1), False])["hash"]

        chain.reorg(2, [({"from": sender, "to": b, "value": "0x5"}, 0)])

        assert chain.block_number() == head
        replaced = chain.rpc("eth_getBlockByNumber", [hex(head - 1), False])
        assert replaced["hash"] != old_hash
        assert len(replaced["transactions"]) == 1


@pytest.mark.chain
def test_fractional_block_time_mines_on_an_interval() -> None:
    with Anvil(block_time=0.5, accounts=1) as chain:
        start = chain.block_number()
        # No transaction is sent: only the interval mines (how fast is the benchmarks' to say).
        eventually(lambda: chain.block_number() - start >= 2, what="two interval blocks")


def test_interval_mining_rejects_fractions() -> None:
    # Checked before anything is sent, because anvil's own error ("invalid number") is obscure.
    with pytest.raises(ValueError, match="whole"):
        Anvil().set_interval_mining(0.5)
