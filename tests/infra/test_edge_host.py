"""The edge host component alone, under Pulumi's mocks: what it derives from its arguments."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import pulumi

from infra.catalog import Severity
from infra.edge_host import EdgeHost, EdgeHostArgs
from infra.host_boot import Release, node_config
from infra.host_monitoring import MonitoringRelease, Tarball
from tests.infra.program import (
    ACCOUNT,
    ENDPOINTS_SHAPE,
    NODE_TOML,
    PROJECT,
    REGION,
    SHA,
    Checks,
    Program,
    Recorder,
)

PROM = "https://github.com/prometheus/prometheus/releases/download/v2.53.4/prometheus-2.53.4.linux-amd64.tar.gz"
AM = "https://github.com/prometheus/alertmanager/releases/download/v0.28.1/alertmanager-0.28.1.linux-amd64.tar.gz"
TOPICS = {s: f"arn:aws:sns:{REGION}:{ACCOUNT}:host-test-{s.value}" for s in Severity}


def _host() -> Program:
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack="test", preview=False)
    template, _ = node_config(
        NODE_TOML, ssm_parameter="/p", region=REGION, api_port=8080, endpoints=ENDPOINTS_SHAPE
    )
    EdgeHost(
        "host-test",
        EdgeHostArgs(
            prefix="host-test",
            region=REGION,
            vpc_id="vpc-1",
            subnet_id="subnet-1",
            functions_sg_id="sg-1",
            admin_cidr="203.0.113.7/32",
            api_port=8080,
            key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k",
            release=Release("https://releases.example.com/edge_node-0.1.0-py3-none-any.whl", SHA),
            config_template=template,
            stop_timeout_s=75,
            token_secret_arn="arn:t",
            db_secret_arn="arn:d",
            rpc_secret_arn="arn:r",
            log_retention_days=30,
            monitoring=MonitoringRelease(
                Tarball("prometheus", PROM, SHA), Tarball("alertmanager", AM, SHA)
            ),
            topic_arns=TOPICS,
            ami_id="ami-0123456789abcdef0",
        ),
    )
    return Program(recorder, {})


def node_events_go_to_the_critical_of_its_topics(p: Program, c: Checks) -> int:
    [config] = [r for r in p.of("aws:ssm/parameter:Parameter") if r.name.endswith("-config")]
    c.examined += 1
    value = c.value(config, "value")
    node = tomllib.loads(value["value"] if isinstance(value, dict) else value)
    c.that(node["alerts"]["sns_topic_arn"] == TOPICS[Severity.CRITICAL], f"{node['alerts']}")
    [policy] = p.of("aws:iam/rolePolicy:RolePolicy")
    c.examined += 1
    statements = json.loads(c.value(policy, "policy"))["Statement"]
    [publish] = [s for s in statements if s["Action"] == ["sns:Publish"]]
    c.that(sorted(publish["Resource"]) == sorted(TOPICS.values()), f"publishes to {publish}")
    return 2


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_the_nodes_own_events_go_to_the_critical_topic_of_those_given() -> Any:
    return _host().check(node_events_go_to_the_critical_of_its_topics)
