"""The alarms: every alarm of the catalog (the seeds' thresholds on the probe's, the host's
and the functions' metrics) and an errors alarm per function; each sent to its severity's
topic (the fan-out delivers it) and, where a runbook applies, to the runbook's function too,
with the permission CloudWatch needs to invoke it. The description carries ``severity:`` and
``runbook:`` lines, which the fan-out reads (functions/fanout/sources_cloudwatch.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import catalog
from infra.catalog import Alarm, Severity
from infra.naming import child

CLOUDWATCH_ALARMS = "lambda.alarms.cloudwatch.amazonaws.com"


@dataclass(frozen=True)
class AlarmsArgs:
    prefix: str
    topics: Mapping[Severity, aws.sns.Topic]
    functions: Mapping[str, aws.lambda_.Function]
    instance_id: pulumi.Input[str]
    failures_queue_name: pulumi.Input[str]
    alert_dlq_name: pulumi.Input[str]
    node_name: str = "edge"  # the probe's Node dimension (EDGE_OPS_NODE_NAME)
    endpoint_names: Sequence[str] = ()  # the probe's Endpoint dimension, one alarm each
    alarms: Sequence[Alarm] = catalog.ALARMS


def description(alarm: Alarm) -> str:
    lines = [alarm.summary, f"severity: {alarm.severity.value}"]
    if alarm.runbook:
        lines.append(f"runbook: {alarm.runbook}")
    lines.append(f"threshold: {alarm.metric} {alarm.op} {alarm.threshold:g}")
    if alarm.seed:
        lines.append(f"seed: {alarm.seed}")
    return "\n".join(lines)[:1024]


def per_endpoint(alarms: Sequence[Alarm], endpoints: Sequence[str]) -> list[Alarm]:
    """Each alarm on a metric the probe publishes per RPC endpoint, made once per endpoint
    (``<name>-<endpoint>``, the endpoint's name as its dimension); the others as they are."""
    out: list[Alarm] = []
    for alarm in alarms:
        if not any(v == catalog.ENDPOINT for _, v in alarm.dimensions):
            out.append(alarm)
            continue
        for endpoint in endpoints:
            dims = tuple((k, endpoint if v == catalog.ENDPOINT else v) for k, v in alarm.dimensions)
            out.append(
                dataclasses.replace(
                    alarm,
                    name=f"{alarm.name}-{endpoint}",
                    summary=f"{alarm.summary}: {endpoint}",
                    dimensions=dims,
                )
            )
    return out


def function_alarms(names: Sequence[str]) -> list[Alarm]:
    """An errors alarm per function (the Lambda service's metric: any failed invocation)."""
    return [
        Alarm(
            f"FunctionFailed-{name}",
            f"the function {name} failed",
            "AWS/Lambda",
            "Errors",
            (("FunctionName", f"${{fn:{name}}}"),),
            "Sum",
            300,
            1,
            ">=",
            1,
            catalog.FUNCTION_ERRORS_SEVERITY,
            seed="",
        )
        for name in names
    ]


def queue_alarms() -> list[Alarm]:
    return [
        Alarm(
            "FunctionFailuresQueued",
            "function invocations failed after their retries (the failures queue holds them)",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            (("QueueName", "${failures}"),),
            "Maximum",
            300,
            1,
            ">=",
            1,
            Severity.HIGH,
        ),
        Alarm(
            "AlertDeadLettersQueued",
            "alerts are parked undelivered in the fan-out's dead-letter queue",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            (("QueueName", "${alert-dlq}"),),
            "Maximum",
            300,
            1,
            ">=",
            1,
            Severity.CRITICAL,
        ),
    ]


class Alarms(pulumi.ComponentResource):
    alarms: dict[str, aws.cloudwatch.MetricAlarm]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Alarms", name, None, opts)
        values: dict[str, pulumi.Input[str]] = {
            catalog.INSTANCE: args.instance_id,
            catalog.STACK: args.prefix,
            catalog.NODE: args.node_name,
            "${failures}": args.failures_queue_name,
            "${alert-dlq}": args.alert_dlq_name,
        }
        values.update({f"${{fn:{n}}}": f.name for n, f in args.functions.items()})
        self.alarms = {}
        every = [
            *per_endpoint(args.alarms, args.endpoint_names),
            *function_alarms(list(args.functions)),
            *queue_alarms(),
        ]
        for alarm in every:
            self.alarms[alarm.name] = self._alarm(name, alarm, args, values)
        self.register_outputs({n: a.arn for n, a in self.alarms.items()})

    def _alarm(
        self,
        name: str,
        alarm: Alarm,
        args: AlarmsArgs,
        values: Mapping[str, pulumi.Input[str]],
    ) -> aws.cloudwatch.MetricAlarm:
        topic = args.topics[alarm.severity]
        runbook_fn = args.functions[catalog.RUNBOOKS[alarm.runbook]] if alarm.runbook else None
        actions: list[pulumi.Input[str]] = [topic.arn]
        if runbook_fn is not None:
            actions.append(runbook_fn.arn)
        dims: dict[str, pulumi.Input[str]] = {k: values.get(v, v) for k, v in alarm.dimensions}
        if alarm.namespace == catalog.NAMESPACE:
            # the functions put the stack on their metrics (EDGE_OPS_ENVIRONMENT): two stacks
            # in one account never read each other's
            dims["environment"] = args.prefix
        resource = aws.cloudwatch.MetricAlarm(
            child(name, alarm.name),
            name=f"{args.prefix}-{alarm.name}",
            alarm_description=description(alarm),
            namespace=alarm.namespace,
            metric_name=alarm.metric,
            dimensions=dims,
            statistic=alarm.statistic,
            period=alarm.period_s,
            evaluation_periods=alarm.evaluation_periods,
            datapoints_to_alarm=alarm.datapoints or alarm.evaluation_periods,
            threshold=alarm.threshold,
            comparison_operator=alarm.comparison,
            treat_missing_data=alarm.missing,
            alarm_actions=actions,
            ok_actions=[topic.arn],  # the resolution reaches the channels the alert did
            insufficient_data_actions=[],
            opts=pulumi.ResourceOptions(parent=self),
        )
        if runbook_fn is not None:
            aws.lambda_.Permission(
                child(name, f"{alarm.name}-runbook"),
                action="lambda:InvokeFunction",
                function=runbook_fn.name,
                principal=CLOUDWATCH_ALARMS,
                source_arn=resource.arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
        return resource
