"""Runs the Pulumi program under Pulumi's mocks and records every resource it declares.

``run(config)`` sets the mocks and the stack configuration *before* the program is executed
(fresh, from infra/__main__.py, every time), inside the test's ``@pulumi.runtime.test``.
``Program.check(policy)`` returns an awaitable that waits for every registration to finish,
then runs the policy over the recorded inputs. Policies go through ``Checks``: every value
they read must be known (an unknown or missing value fails, not passes), and each policy
states how many resources it expects to have examined, so a check that never ran fails.
"""

from __future__ import annotations

import json
import runpy
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.stack import wait_for_rpcs

ROOT = Path(__file__).resolve().parents[2]
MAIN = ROOT / "infra" / "__main__.py"
PROJECT = "edge-node"
ACCOUNT = "123456789012"
REGION = "eu-west-1"
SHA = "ab" * 32


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)  # what the mock answered (arn, ...)


class Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.calls: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        rid = f"{args.name}-id"
        if args.typ == "aws:ec2/instance:Instance":
            rid = "i-0123456789abcdef0"  # an instance id's shape (the runbooks' settings check it)
        service = args.typ.split(":")[1].split("/")[0]
        state = dict(args.inputs)
        physical = state.get("name") or state.get("bucket") or args.name
        state.setdefault("arn", f"arn:aws:{service}:{REGION}:{ACCOUNT}:{physical}")
        state.setdefault("name", physical)
        extras: dict[str, dict[str, Any]] = {
            "aws:s3/bucket:Bucket": {"bucket": args.name},
            "aws:sqs/queue:Queue": {
                "url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
            },
            "aws:rds/instance:Instance": {"address": "db.internal", "port": 5432},
            "aws:ec2/instance:Instance": {"private_ip": "10.60.0.10"},
            "random:index/randomId:RandomId": {"hex": "0" * 64},
            # each its own, so that a test can tell whose password went where
            "random:index/randomPassword:RandomPassword": {
                "result": f"generated-password-{args.name}"
            },
            "aws:cloudwatch/dashboard:Dashboard": {"dashboard_name": state.get("dashboard_name")},
        }
        for k, v in extras.get(args.typ, {}).items():
            state.setdefault(k, v)
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), dict(state)))
        return rid, state

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.calls.append(args.token)
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ["eu-west-1a", "eu-west-1b", "eu-west-1c"], "zone_ids": []}, []
        if args.token == "aws:ssm/getParameter:getParameter":
            return {
                "name": args.args["name"],
                "value": "ami-0123456789abcdef0",
                "type": "String",
            }, []
        raise AssertionError(f"the program called {args.token}, which the mocks do not know")


# the rpcEndpoints secret's shape the program checks NODE_TOML with: (name, has a ws_url)
ENDPOINTS_SHAPE = [("primary", True), ("backup-rpc", False)]  # as base_config writes them

NODE_TOML = """\
websocket = true

[chain]
name = "bsc"
chain_id = 56

[[pools]]
name = "wbnb-usdt"
address = "0x16b9a82891338f9ba80e2d6970fdda79d1eb0dae"
kind = "v2"
token0 = "USDT"
token1 = "WBNB"
decimals0 = 18
decimals1 = 18

[control]
drain_timeout_s = 45
"""


def base_config(tmp: Path) -> tuple[dict[str, str], list[str]]:
    """A complete stack configuration; artifacts are empty zips in ``tmp``."""
    artifacts = tmp / "artifacts"
    artifacts.mkdir(exist_ok=True)
    from infra import catalog

    for package in {f.package for f in catalog.FUNCTIONS}:
        with zipfile.ZipFile(artifacts / f"{package}.zip", "w") as zf:
            zf.writestr("placeholder.txt", package)
    node = tmp / "node.toml"
    node.write_text(NODE_TOML)
    ns = PROJECT
    config = {
        "aws:region": REGION,
        f"{ns}:adminCidr": "203.0.113.7/32",
        f"{ns}:monitoring": json.dumps(
            {
                "prometheus": {
                    "url": "https://github.com/prometheus/prometheus/releases/download/"
                    "v2.53.4/prometheus-2.53.4.linux-amd64.tar.gz",
                    "sha256": SHA,
                },
                "alertmanager": {
                    "url": "https://github.com/prometheus/alertmanager/releases/download/"
                    "v0.28.1/alertmanager-0.28.1.linux-amd64.tar.gz",
                    "sha256": SHA,
                },
            }
        ),
        f"{ns}:release": json.dumps(
            {
                "wheelUrl": "https://releases.example.com/edge_node-0.1.0-py3-none-any.whl",
                "sha256": SHA,
            }
        ),
        f"{ns}:nodeConfig": str(node),
        f"{ns}:artifactsDir": str(artifacts),
        f"{ns}:rpcEndpoints": json.dumps(
            [
                {
                    "name": "primary",
                    "ws_url": "wss://rpc.example.com/KEY-RPC-0001",
                    "http_url": "https://rpc.example.com/KEY-RPC-0001",
                },
                {"name": "backup-rpc", "http_url": "https://rpc2.example.com/KEY-RPC-0002"},
            ]
        ),
        f"{ns}:alertChannels": json.dumps(
            {
                "slack_webhook_url": "https://hooks.slack.com/services/KEY-SLACK-0001",
                "pagerduty_routing_key": "KEY-PD-0001",
                "telegram_bot_token": "KEY-TG-0001",
                "telegram_chat_id": "42",
            }
        ),
    }
    return config, [f"{ns}:rpcEndpoints", f"{ns}:alertChannels"]


class Unknown(AssertionError):
    """A policy read a value the program left unknown (or never set)."""


@dataclass
class Checks:
    """Counts what a policy examined; ``value`` refuses unknowns."""

    examined: int = 0
    asserted: int = 0
    seen: set[str] = field(default_factory=set)

    def value(self, r: Registered, key: str) -> Any:
        v = r.inputs.get(key)
        if v is None or v is rpc.UNKNOWN or _has_unknown(v):
            raise Unknown(f"{r.type} {r.name}: {key} is unknown or unset")
        return v

    def that(self, condition: bool, message: str) -> None:
        self.asserted += 1
        assert condition, message


def _has_unknown(v: Any) -> bool:
    if v is rpc.UNKNOWN or (isinstance(v, str) and v == rpc.UNKNOWN):
        return True
    if isinstance(v, dict):
        return any(_has_unknown(x) for x in v.values())
    if isinstance(v, list):
        return any(_has_unknown(x) for x in v)
    return False


@dataclass
class Program:
    recorder: Recorder
    outputs: dict[str, Any]

    def of(self, typ: str) -> list[Registered]:
        return [r for r in self.recorder.resources if r.type == typ]

    def all(self) -> Iterator[Registered]:
        return iter(self.recorder.resources)

    def check(self, policy: Callable[[Program, Checks], int]) -> Any:
        """An awaitable: once every registration is done, run ``policy``; it returns how many
        resources it examined, which must be the number it counted and more than none."""

        async def settled_then_check() -> None:
            await wait_for_rpcs(await_all_outstanding_tasks=False)
            checks = Checks()
            expected = policy(self, checks)
            assert checks.asserted > 0, f"{policy.__name__}: no assertion ran"
            assert expected > 0, f"{policy.__name__}: nothing to examine"
            assert checks.examined == expected, (
                f"{policy.__name__}: examined {checks.examined} of {expected}"
            )
            CHECKED.append(policy.__name__)

        return settled_then_check()


CHECKED: list[str] = []  # every policy that completed (tests/infra asserts on it)


def run(config: dict[str, str], secret_keys: list[str], stack: str = "prod") -> Program:
    """Set the mocks and the configuration, then execute the program afresh."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)
    namespace = runpy.run_path(str(MAIN), run_name="__main__")
    return Program(recorder, namespace)
