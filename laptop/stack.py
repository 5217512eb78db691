"""The laptop stack, put together: chat stand-in, moto (with the deployed alert subscriptions),
the receivers (fan-out, runbook) polling them, the control endpoints, the demo chain and node,
Prometheus and Alertmanager (publishing to moto's SNS as deployed), and the scheduler.
``Stack`` is a context manager: whatever it started is stopped on the way out, in reverse
order, even after a failure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import urllib3

from infra import catalog
from laptop import aws, compressed_rules, subscriptions
from laptop.chain import DemoChain
from laptop.chat import ChatStandIn
from laptop.control import Control
from laptop.failures import FailureQueue
from laptop.monitoring import DEPLOYED_RULES, Monitoring, Targets
from laptop.receivers import Receivers, Target, fanout_target
from laptop.runbook import run_runbook
from laptop.schedule import CompressedClock
from laptop.scheduler import Scheduler, catalog_jobs
from laptop.subscriptions import Subscription


def free_ports(n: int) -> list[int]:
    """``n`` distinct free loopback ports (all held at once while chosen: a port closed and
    asked for again can come back the same)."""
    with contextlib.ExitStack() as held:
        socks = [held.enter_context(socket.socket()) for _ in range(n)]
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in socks]


def targets(wanted: list[Subscription]) -> dict[str, Target]:
    """The function each subscription calls, by its catalog name: the fan-out's handler, or
    the runbook function on the runbook it runs."""
    out: dict[str, Target] = {}
    for sub in wanted:
        if sub.function == subscriptions.FANOUT:
            out[sub.function] = fanout_target()
        elif sub.runbook is not None:
            out[sub.function] = functools.partial(run_runbook, sub.runbook)
    return out


SPEED = 720.0  # simulated seconds per real second: a day in two minutes
MIN_GAP_S = 5.0  # real seconds between two runs of one function, at least


class Stack:
    def __init__(
        self,
        workdir: Path,
        *,
        traffic_rate: float = 4.0,
        schedule: bool = True,
        rules: Path = DEPLOYED_RULES,  # evaluated in compressed time (laptop/monitoring.py)
    ) -> None:
        self.workdir = workdir
        self.rules = rules
        self.traffic_rate = traffic_rate
        self.schedule = schedule
        self.scheduler: Scheduler | None = None
        self.chat: ChatStandIn | None = None
        self.moto: aws.MotoServer | None = None
        self.resources: aws.Resources | None = None
        self.receivers: Receivers | None = None
        self.control: Control | None = None
        self.chain: DemoChain | None = None
        self.monitoring: Monitoring | None = None
        self._exit = contextlib.ExitStack()

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit.close()

    def _start(self) -> None:
        x = self._exit
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.chat = ChatStandIn().start()
        x.callback(self.chat.stop)
        self.moto = aws.MotoServer().start()
        x.callback(self.moto.stop)
        res = self.resources = aws.create_resources(self.moto.url, self.chat.url)
        x.enter_context(aws.environment(res.env(self.chat.url)))
        self.chain = DemoChain(
            self.workdir / "node",
            ssm_flag=res.stop_flag,
            region=aws.REGION,
            rate=self.traffic_rate,
        )
        # The deployed rules, read once: the subscriptions follow the runbooks they name, and
        # Prometheus evaluates them (compressed).
        rules = compressed_rules.load(self.rules)
        # The deployed subscriptions (the fan-out on every topic, the runbooks the laptop runs
        # on their rules' topics, filtered), as SQS queues the receivers poll.
        wanted = subscriptions.plan(subscriptions.alerting_rules(rules))
        subscribed = subscriptions.subscribe(res.endpoint, res.topics, wanted)
        self.receivers = Receivers(
            res.endpoint, subscribed, targets(wanted), res.failures_url
        ).start()
        x.callback(self.receivers.stop)
        self.control = Control(
            {"/rpc/cut": self.chain.cut_rpc, "/rpc/restore": self.chain.restore_rpc}
        ).start()
        x.callback(self.control.stop)
        x.callback(self.chain.stop)
        self.chain.start()
        tmp = self.workdir / "functions-tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        # what the functions read about the node (infra/functions.py's names)
        x.enter_context(
            aws.environment(
                {
                    "EDGE_OPS_DATABASE_URL": self.chain.store_url,
                    "EDGE_OPS_NODE_URL": f"http://{self.chain.api_address}",
                    "EDGE_OPS_NODE_TOKEN": self.chain.token,
                    "EDGE_OPS_BACKUP_TMP_DIR": str(tmp),
                }
            )
        )
        am_port, prom_port = free_ports(2)
        self.monitoring = Monitoring(
            self.workdir / "monitoring",
            Targets(
                node=self.chain.api_address,
                node_token=self.chain.token,
                alertmanager_port=am_port,
                prometheus_port=prom_port,
                aws_endpoint=res.endpoint,
                topics=res.topics,
            ),
            rules,
        )
        x.callback(self.monitoring.stop)
        self.monitoring.start()
        if self.schedule:
            self._start_scheduler()

    def _start_scheduler(self) -> None:
        assert self.chain is not None and self.resources is not None
        # The simulated day starts just before the prune (23:00), so that within the first
        # minute of real time the prune, the daily report and the backup have all run.
        today = dt.datetime.now(dt.UTC).replace(hour=22, minute=58, second=0, microsecond=0)
        clock = CompressedClock(time.monotonic(), today, SPEED)
        # a run failing its three tries goes where the deployed one goes: the failures queue
        failures = FailureQueue(self.resources.endpoint, self.resources.failures_url)
        self.scheduler = Scheduler(
            catalog_jobs(), clock, failures=failures, min_gap_s=MIN_GAP_S
        ).start()
        self._exit.callback(self.scheduler.stop)

    # --- what the stack shows ---------------------------------------------------------------

    def s3(self) -> Any:
        assert self.resources is not None
        return aws.client("s3", self.resources.endpoint)

    def ssm_parameter(self) -> dict[str, Any]:
        assert self.resources is not None
        ssm = aws.client("ssm", self.resources.endpoint)
        parameter: dict[str, Any] = ssm.get_parameter(Name=self.resources.stop_flag)["Parameter"]
        return parameter

    def ssm_flag(self) -> str:
        return str(self.ssm_parameter()["Value"])

    def node_health(self) -> dict[str, Any]:
        """The node's /health, as an operator (or the probe) reads it."""
        assert self.chain is not None
        r = urllib3.request(
            "GET",
            f"http://{self.chain.api_address}/health",
            headers={"Authorization": f"Bearer {self.chain.token}"},
            timeout=5,
        )
        health: dict[str, Any] = json.loads(r.data)
        return health

    def incident_reports(self) -> list[str]:
        assert self.resources is not None
        listing = self.s3().list_objects_v2(
            Bucket=self.resources.reports_bucket, Prefix=f"{catalog.INCIDENTS_PREFIX}/"
        )
        return [o["Key"] for o in listing.get("Contents", [])]
