"""The CloudWatch dashboard: the probe's view of the node, the host, backups, the functions'
errors and the alarms' states, one page. ``body`` is pure (tested on its own)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra import catalog
from infra.naming import child


def _metric_widget(
    title: str, region: str, metrics: list[list[Any]], x: int, y: int, stat: str = "Maximum"
) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": x,
        "y": y,
        "width": 12,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "metrics": metrics,
            "stat": stat,
            "period": 60,
            "view": "timeSeries",
        },
    }


def body(
    *,
    region: str,
    environment: str,
    instance_id: str,
    function_names: Sequence[str],
    alarm_arns: Sequence[str],
    node_name: str = "edge",
    endpoint_names: Sequence[str] = (),
) -> str:
    ops = catalog.NAMESPACE

    def probe(metric: str, *dims: str) -> list[Any]:
        # the dimensions the probe puts on it (functions/probe/metrics.py), all of them
        return [ops, metric, "service", "probe", "environment", environment, *dims]

    health = [probe("ProbeCheckOk", "Check", "healthz", "Node", node_name)]
    health += [probe("RpcHeadLagBlocks", "Endpoint", e) for e in endpoint_names]
    widgets = [
        _metric_widget(
            "Node health (probe): /healthz ok, head lag per endpoint", region, health, 0, 0
        ),
        _metric_widget(
            "Price age, s (alarm above 300)",
            region,
            [probe("PriceUpdateAgeSeconds", "Node", node_name)],
            12,
            0,
        ),
        _metric_widget(
            "Edge host: CPU, memory, disk %",
            region,
            [
                ["AWS/EC2", "CPUUtilization", "InstanceId", instance_id],
                [catalog.HOST_NAMESPACE, "mem_used_percent", "InstanceId", instance_id],
                [
                    catalog.HOST_NAMESPACE,
                    "disk_used_percent",
                    "InstanceId",
                    instance_id,
                    "path",
                    "/",
                ],
            ],
            0,
            6,
            "Average",
        ),
        _metric_widget(
            "Newest verified backup age, s",
            region,
            [
                [
                    ops,
                    "NewestVerifiedBackupAgeSeconds",
                    "service",
                    "backup",
                    "environment",
                    environment,
                ]
            ],
            12,
            6,
        ),
        _metric_widget(
            "Function errors",
            region,
            [["AWS/Lambda", "Errors", "FunctionName", n] for n in function_names],
            0,
            12,
            "Sum",
        ),
        {
            "type": "alarm",
            "x": 12,
            "y": 12,
            "width": 12,
            "height": 6,
            "properties": {"title": "Alarms", "alarms": sorted(alarm_arns)},
        },
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)


@dataclass(frozen=True)
class DashboardArgs:
    prefix: str
    region: str
    instance_id: pulumi.Input[str]
    functions: Mapping[str, aws.lambda_.Function]
    alarms: Mapping[str, aws.cloudwatch.MetricAlarm]
    node_name: str = "edge"
    endpoint_names: Sequence[str] = ()


class Dashboard(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: DashboardArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Dashboard", name, None, opts)
        fn_names = pulumi.Output.all(*[f.name for f in args.functions.values()])
        # CloudWatch's alarm widget shows at most 100 alarms
        alarm_arns = pulumi.Output.all(*[a.arn for a in list(args.alarms.values())[:100]])
        rendered = pulumi.Output.all(args.instance_id, fn_names, alarm_arns).apply(
            lambda v: body(
                region=args.region,
                environment=args.prefix,
                instance_id=v[0],
                function_names=v[1],
                alarm_arns=v[2],
                node_name=args.node_name,
                endpoint_names=args.endpoint_names,
            )
        )
        dash = aws.cloudwatch.Dashboard(
            child(name, "dashboard"),
            dashboard_name=args.prefix,
            dashboard_body=rendered,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = dash.dashboard_name
        self.register_outputs({"name": dash.dashboard_name})
