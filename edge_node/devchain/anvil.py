"""Starting, stopping and poking a throwaway anvil chain.

Each ``Anvil`` owns one anvil process on a free loopback port with its output in a private log
file, so tests can run many chains side by side and still show why one failed to start.
"""

from __future__ import annotations

import atexit
import collections
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account import Account
from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address

from edge_node.devchain import tools
from edge_node.devchain.rpc import JsonRpcClient, RpcError

DEFAULT_MNEMONIC = "test test test test test test test test test test test junk"

# Chains where a signature made with a well-known dev key could move real money (mainnets and
# the public testnets people fund): refusing them keeps replayable transactions off those chains.
FORBIDDEN_CHAIN_IDS = frozenset({1, 5, 56, 97, 11155111})

_START_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0
_LOG_TAIL_LINES = 40

_live: set[Anvil] = set()


@dataclass(frozen=True)
class DevAccount:
    index: int
    address: ChecksumAddress
    private_key: str


class AnvilError(RuntimeError):
    """anvil failed to start or died; the message carries the tail of its log."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Anvil:
    def __init__(
        self,
        chain_id: int = 31337,
        block_time: float | None = None,
        port: int | None = None,
        accounts: int = 10,
        extra_args: Sequence[str] = (),
    ) -> None:
        if chain_id in FORBIDDEN_CHAIN_IDS:
            raise ValueError(
                f"chain id {chain_id} belongs to a public network; dev keys must never sign for it"
            )
        if chain_id <= 0:
            raise ValueError(f"chain id must be positive, got {chain_id}")
        if block_time is not None and block_time <= 0:
            raise ValueError(f"block_time must be positive (or None for automine): {block_time}")
        if accounts < 1:
            raise ValueError("anvil needs at least one dev account")
        self._chain_id = chain_id
        self._block_time = block_time
        self._requested_port = port
        self._port: int | None = None
        self._accounts = accounts
        self._extra_args = tuple(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir: Path | None = None
        self._client: JsonRpcClient | None = None

    # ----- lifecycle -----

    def start(self) -> Anvil:
        """Starts anvil and waits until it answers. A stopped or killed instance may be started
        again; it comes back as a fresh chain (on a new port unless one was given)."""
        if self.running:
            raise AnvilError("this Anvil is already running")
        self.stop()  # discards what a previous run left behind
        binary = tools.anvil_binary()
        # The port is free when probed but could be taken before anvil binds it; the start-up
        # check below then fails with anvil's own "address in use" message.
        self._port = self._requested_port or _free_port()
        cmd = [
            str(binary),
            "--host",
            "127.0.0.1",
            "--port",
            str(self._port),
            "--chain-id",
            str(self._chain_id),
            "--accounts",
            str(self._accounts),
        ]
        if self._block_time is not None:
            # anvil 1.7.1 accepts fractional seconds (e.g. 0.5) for interval mining.
            cmd += ["--block-time", f"{self._block_time:g}"]
        cmd += self._extra_args
        self._log_dir = Path(tempfile.mkdtemp(prefix="anvil-"))
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(  # noqa: S603 - argv built from the discovered binary
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        _live.add(self)
        self._client = JsonRpcClient(self.http_url, timeout=10.0)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        assert self._proc is not None and self._client is not None
        deadline = time.monotonic() + _START_TIMEOUT_S
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise AnvilError(
                    f"anvil exited with {self._proc.returncode} during start-up:\n{self.log_tail()}"
                )
            try:
                answered = int(self._client.call("eth_chainId"), 16)
            except (OSError, RpcError, ValueError) as exc:
                last_error = exc
                time.sleep(0.02)
                continue
            if answered != self._chain_id:
                raise AnvilError(
                    f"port {self._port} answered chain id {answered}, not {self._chain_id}: "
                    "another node is listening there"
                )
            return
        raise AnvilError(
            f"anvil did not answer on {self.http_url} within {_START_TIMEOUT_S:.0f} s "
            f"(last error: {last_error}):\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Terminates anvil (SIGTERM, then SIGKILL if it lingers) and removes its log."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=_STOP_TIMEOUT_S)
        if self._client is not None:
            self._client.close()
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
        _live.discard(self)

    def kill(self) -> None:
        """SIGKILLs anvil, for fault-injection tests; the log is kept until ``stop``."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=_STOP_TIMEOUT_S)

    def __enter__(self) -> Anvil:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- properties -----

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        """None while running; negative signal number after ``kill`` (e.g. -9)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def port(self) -> int:
        if self._port is None:
            raise AnvilError("anvil is not started")
        return self._port

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise AnvilError("anvil is not started")
        return self._proc.pid

    @property
    def chain_id(self) -> int:
        return self._chain_id

    @property
    def block_time(self) -> float | None:
        return self._block_time

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        if self._log_dir is None:
            raise AnvilError("anvil is not started (or already stopped)")
        return self._log_dir / "anvil.log"

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as log:
                return "".join(collections.deque(log, maxlen=lines))
        except (OSError, AnvilError):
            return "(no anvil log)"

    @cached_property
    def accounts(self) -> list[DevAccount]:
        """Dev accounts with their keys; the addresses are checked against what anvil reports."""
        addresses = [to_checksum_address(a) for a in self.rpc("eth_accounts")]
        Account.enable_unaudited_hdwallet_features()
        found = []
        for index, address in enumerate(addresses):
            acct = Account.from_mnemonic(DEFAULT_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}")
            if acct.address != address:
                raise AnvilError(
                    f"dev account {index} is {address} but the default mnemonic derives "
                    f"{acct.address}; was anvil started with a different --mnemonic?"
                )
            found.append(DevAccount(index, address, acct.key.to_0x_hex()))
        return found

    @property
    def addresses(self) -> list[ChecksumAddress]:
        return [a.address for a in self.accounts]

    # ----- JSON-RPC helpers -----

    def rpc(self, method: str, params: Sequence[Any] = ()) -> Any:
        if self._client is None:
            raise AnvilError("anvil is not started")
        return self._client.call(method, list(params))

    def block_number(self) -> int:
        return int(self.rpc("eth_blockNumber"), 16)

    def mine(self, n: int = 1) -> None:
        self.rpc("anvil_mine", [hex(n)])

    def snapshot(self) -> str:
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> bool:
        return bool(self.rpc("evm_revert", [snapshot_id]))

    def reorg(self, depth: int, tx_block_pairs: Sequence[tuple[Any, int]] = ()) -> None:
        """Replaces the last ``depth`` blocks; each pair puts a transaction (a request object or
        raw signed hex) into the new block at that offset from the fork point."""
        self.rpc("anvil_reorg", [depth, [[tx, offset] for tx, offset in tx_block_pairs]])

    def set_automine(self, enabled: bool) -> None:
        self.rpc("evm_setAutomine", [enabled])

    def set_interval_mining(self, seconds: float) -> None:
        """Mines a block every ``seconds`` and turns automine off. Whole seconds only: anvil
        rejects 0.5 here although ``--block-time 0.5`` works. 0 stops interval mining and leaves
        the chain mining nothing until ``set_automine(True)``."""
        if not float(seconds).is_integer() or seconds < 0:
            raise ValueError(f"interval mining takes whole, non-negative seconds, got {seconds}")
        self.rpc("evm_setIntervalMining", [int(seconds)])


@atexit.register
def _stop_leftovers() -> None:
    # A test that forgets to stop its chain must not leave anvil running after Python exits.
    for anvil in list(_live):
        anvil.stop()
