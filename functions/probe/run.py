"""Running every check at once under one deadline: the shell around ``checks.evaluate``.

Each call has its own timeout (``Http``); on top of that the whole probe has a deadline, well
under its one-minute schedule. The calls run in a thread pool: ``/healthz``, ``/health`` (with
its token fetch), the backups' listing and the RPC endpoints' list (a secret) start together,
and each endpoint's ``eth_blockNumber`` starts as soon as the list is known. Whatever has not
answered by the deadline is reported as failed ("the probe's deadline passed first"), and the
others are judged on what they got. Threads still waiting on a socket are left to their own
timeouts; nothing waits for them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from functions.common.errors import OpsError
from functions.probe import calls
from functions.probe.checks import (
    BackupReading,
    HttpReading,
    Readings,
    Report,
    RpcReading,
    evaluate,
)
from functions.probe.settings import Thresholds

T = TypeVar("T")

# What the probe's sources are, so that tests and the CLI can hand in their own.
TokenFetch = Callable[[bool], str]  # fetch(force) -> the node's API token
EndpointList = Callable[[], dict[str, str]]  # name -> URL
BackupFreshness = Callable[[], BackupReading]


@dataclass(frozen=True, slots=True)
class Target:
    node_name: str
    node_url: str
    token: TokenFetch
    endpoints: EndpointList
    backup: BackupFreshness | None = None  # None: backups are not checked


@dataclass(frozen=True, slots=True)
class Limits:
    call_timeout_s: float = 5.0
    deadline_s: float = 20.0


def _backup_safely(read: BackupFreshness) -> BackupReading:
    try:
        return read()
    except OpsError as err:
        return BackupReading(error=str(err))


def probe(
    target: Target,
    thresholds: Thresholds,
    limits: Limits,
    http: calls.Http | None = None,
    *,
    sequential: bool = False,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> Report:
    """Every check, concurrently (``sequential``: one after the other, the benchmark's
    baseline), within ``limits.deadline_s``."""
    http = http or calls.Http(limits.call_timeout_s)
    start = clock()
    deadline = start + limits.deadline_s
    late = f"the probe's deadline ({limits.deadline_s:g} s) passed first"
    workers = 1 if sequential else 32
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
    try:
        f_healthz = pool.submit(calls.healthz, http, target.node_url)
        f_health = pool.submit(calls.health, http, target.node_url, target.token)
        f_backup = pool.submit(_backup_safely, target.backup) if target.backup else None
        f_list = pool.submit(target.endpoints)
        pending: set[Future[Any]] = {f_healthz, f_health, f_list}
        if f_backup is not None:
            pending.add(f_backup)
        rpc_futures: dict[str, Future[RpcReading]] = {}
        list_error: str | None = None
        while pending:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            if f_list in done:
                try:
                    endpoints = f_list.result()
                except OpsError as err:
                    list_error = str(err)
                    endpoints = {}
                for name, url in endpoints.items():
                    fut = pool.submit(calls.rpc_head, http, name, url)
                    rpc_futures[name] = fut
                    pending.add(fut)
        healthz = _outcome(f_healthz, HttpReading(error=late))
        health = _outcome(f_health, HttpReading(error=late))
        backup = None if f_backup is None else _outcome(f_backup, BackupReading(error=late))
        rpc = tuple(_outcome(f, RpcReading(name, error=late)) for name, f in rpc_futures.items())
        if not f_list.done():
            list_error = f"the RPC endpoints' list: {late}"
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    duration_ms = (clock() - start) * 1000.0
    readings = Readings(wall(), duration_ms, healthz, health, rpc, backup, list_error)
    return evaluate(readings, target.node_name, thresholds)


def _outcome(f: Future[T], late: T) -> T:
    return f.result() if f.done() and not f.cancelled() else late
