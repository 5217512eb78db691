"""IAM policy documents built from statements that refuse a wildcard action when written.

``Allow(actions, resources)`` is checked at construction: an action must name one API call
(``s3:GetObject``), never ``*``, ``service:*`` or a pattern. A ``*`` resource is allowed only
for the actions AWS authorises on no resource (``REQUIRES_STAR_RESOURCE``); any other ``*``
resource is refused too. The document is an ``Output[str]`` (resources are often outputs).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

_ACTION = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")

# Actions that support no resource-level permission: AWS accepts them only with "*"
# (the Service Authorization Reference lists no resource type for them).
REQUIRES_STAR_RESOURCE = frozenset(
    {
        "cloudwatch:PutMetricData",  # narrowed by the cloudwatch:namespace condition instead
        "ec2:CreateNetworkInterface",  # Lambda in a VPC (AWSLambdaVPCAccessExecutionRole)
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "ssm:UpdateInstanceInformation",  # Session Manager on the host
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
        "secretsmanager:GetRandomPassword",
        "logs:DescribeLogGroups",
        "ssm:GetCommandInvocation",
    }
)


class WildcardRefused(ValueError):
    """A statement asked for more than named actions on named resources: write them out."""


@dataclass(frozen=True)
class Allow:
    actions: Sequence[str]
    resources: Sequence[pulumi.Input[str]]
    condition: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.actions or not self.resources:
            raise WildcardRefused("a statement needs actions and resources")
        for action in self.actions:
            if not _ACTION.fullmatch(action):
                raise WildcardRefused(f"action {action!r}: name one API call, no wildcard")
        for resource in self.resources:
            if resource == "*":
                extra = sorted(set(self.actions) - REQUIRES_STAR_RESOURCE)
                if extra:
                    raise WildcardRefused(f"resource '*' for {extra}: name the resources")
            elif isinstance(resource, str) and "*" in resource.split(":")[2:3]:
                raise WildcardRefused(f"resource {resource!r}: a wildcard service")


def document(statements: Sequence[Allow]) -> pulumi.Output[str]:
    """The JSON policy document (an output, as resources usually are)."""

    def render(resolved: list[list[str]]) -> str:
        body = []
        for st, resources in zip(statements, resolved, strict=True):
            entry: dict[str, Any] = {
                "Effect": "Allow",
                "Action": sorted(st.actions),
                "Resource": sorted(resources),
            }
            if st.condition:
                entry["Condition"] = {k: dict(v) for k, v in st.condition.items()}
            body.append(entry)
        return json.dumps({"Version": "2012-10-17", "Statement": body}, sort_keys=True)

    lists = [pulumi.Output.all(*st.resources) for st in statements]
    return pulumi.Output.all(*lists).apply(render)


def assume_role(service: str) -> str:
    """The trust policy letting one AWS service assume a role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        sort_keys=True,
    )
