"""``edge-node run`` as a process, as an operator runs it: started, killed, stopped."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.config import load_config
from tests.support.node import TOKEN
from tests.support.waiting import WITHIN_S

EDGE_NODE = str(Path(sys.executable).with_name("edge-node"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    def __init__(
        self,
        config: Path,
        log: Path,
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.config = config
        self.log = log
        self.args = list(args)
        self.env = env
        self.cfg = load_config(config)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NodeProcess:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [EDGE_NODE, "run", "--config", str(self.config), *self.args],
            stdout=out,
            stderr=out,
            env=None if self.env is None else {**os.environ, **self.env},
        )
        self.wait_http(timeout=60)  # a cold interpreter on a loaded machine
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.cfg.api.port}{path}"

    def wait_http(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited {self.proc.returncode}:\n{self.tail()}")
            try:
                urllib.request.urlopen(self.url("/healthz"), timeout=1)  # noqa: S310
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"node API did not come up:\n{self.tail()}")

    def health(self) -> dict[str, object]:
        req = urllib.request.Request(self.url("/health"))  # noqa: S310
        req.add_header("Authorization", f"Bearer {TOKEN}")
        try:
            with urllib.request.urlopen(req, timeout=WITHIN_S) as resp:  # noqa: S310
                return dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:  # 503 while not healthy: still JSON
            return dict(json.loads(err.read()))

    def request(self, method: str, path: str, body: object = None) -> tuple[int, dict[str, Any]]:
        """An authorised API call; (status, JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url(path), data=data, method=method)  # noqa: S310
        req.add_header("Authorization", f"Bearer {TOKEN}")
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=WITHIN_S) as resp:  # noqa: S310
                return resp.status, dict(json.loads(resp.read()))
        except urllib.error.HTTPError as err:
            return err.code, dict(json.loads(err.read()))

    def wait_exit(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
