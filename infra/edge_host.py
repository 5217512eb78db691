"""The edge host: one EC2 instance running ``edge-node run`` under systemd (infra/host_boot.py).

- IMDSv2 only (tokens required, one hop: a container on the host cannot reach it);
- the root volume encrypted with the stack's key; no key pair: no SSH, operators use SSM
  Session Manager; the security group opens the API port only to the functions' group and the
  configured admin CIDR, and nothing else inbound;
- its role: read its three secrets and its two SSM parameters (the config template and the
  emergency-stop flag), put metrics in its own namespace, write its own log group, publish
  the node's own events to the alerting component's critical topic (the node's
  ``alerts.sns_topic_arn``, set here; the fan-out reads the severity from each event);
  Session Manager's channel; publish its Alertmanager's alerts to the four severity topics;
  nothing else;
- its log (the node's stdout) shipped by the CloudWatch agent to a log group with retention;
- Prometheus and Alertmanager beside the node (infra/host_monitoring.py): the rules of the
  node's release, each alert to its severity's topic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra import catalog, iam
from infra.catalog import Severity
from infra.host_boot import Boot, Release, packed, user_data, with_alerts_topic
from infra.host_monitoring import HostMonitoring, MonitoringRelease
from infra.naming import child

AL2023_AMI = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
SESSION_MANAGER = (
    "ssm:UpdateInstanceInformation",
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
)


@dataclass(frozen=True)
class EdgeHostArgs:
    prefix: str
    region: str
    vpc_id: pulumi.Input[str]
    subnet_id: pulumi.Input[str]
    functions_sg_id: pulumi.Input[str]
    admin_cidr: str
    api_port: int
    key_arn: pulumi.Input[str]
    release: Release
    config_template: str  # the node's TOML without endpoints (host_boot.node_config)
    stop_timeout_s: int
    token_secret_arn: pulumi.Input[str]
    db_secret_arn: pulumi.Input[str]
    rpc_secret_arn: pulumi.Input[str]
    log_retention_days: int
    monitoring: MonitoringRelease
    # where its Alertmanager publishes; the critical one takes the node's own events too
    # (edge_node/alerts.py; the node's alerts.sns_topic_arn)
    topic_arns: Mapping[Severity, pulumi.Input[str]]
    node_name: str = "edge"
    instance_type: str = "t3.small"
    volume_gb: int = 30
    ami_id: str | None = None
    live: bool = False


class EdgeHost(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: EdgeHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:EdgeHost", name, None, opts)
        here = pulumi.ResourceOptions(parent=self)

        self.stop_flag = aws.ssm.Parameter(
            child(name, "stop-flag"),
            name=f"/{args.prefix}/emergency-stop",
            type="String",
            value="false",
            description="set to true to stop the node from anywhere (runbooks, operators)",
            # the runbooks and operators set it; a `pulumi up` must never reset it
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]),
        )
        config = aws.ssm.Parameter(
            child(name, "config"),
            name=f"/{args.prefix}/node-config",
            type="String",
            # the topic's ARN adds at most ~330 bytes (a 256-character name) to the template
            tier="Advanced" if len(args.config_template) + 400 > 4096 else "Standard",
            value=pulumi.Output.from_input(args.topic_arns[Severity.CRITICAL]).apply(
                lambda arn: with_alerts_topic(args.config_template, arn)
            ),
            description="the node's config template (no secrets: endpoints come from Secrets)",
            opts=here,
        )
        logs = aws.cloudwatch.LogGroup(
            child(name, "logs"),
            name=f"/{args.prefix}/edge-node",
            retention_in_days=args.log_retention_days,
            opts=here,
        )

        policy = iam.document(
            [
                iam.Allow(
                    ["secretsmanager:GetSecretValue"],
                    [args.token_secret_arn, args.db_secret_arn, args.rpc_secret_arn],
                ),
                iam.Allow(["kms:Decrypt"], [args.key_arn]),
                iam.Allow(["ssm:GetParameter"], [self.stop_flag.arn, config.arn]),
                iam.Allow(
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    [logs.arn, logs.arn.apply(lambda a: f"{a}:log-stream:*")],
                ),
                iam.Allow(
                    ["cloudwatch:PutMetricData"],
                    ["*"],
                    {"StringEquals": {"cloudwatch:namespace": catalog.HOST_NAMESPACE}},
                ),
                # the node's own events go to one of them, the critical
                iam.Allow(["sns:Publish"], [args.topic_arns[s] for s in Severity]),
                iam.Allow(list(SESSION_MANAGER), ["*"]),
            ]
        )
        role = aws.iam.Role(
            child(name, "role"),
            assume_role_policy=iam.assume_role("ec2.amazonaws.com"),
            opts=here,
        )
        aws.iam.RolePolicy(child(name, "policy"), role=role.id, policy=policy, opts=here)
        profile = aws.iam.InstanceProfile(child(name, "profile"), role=role.name, opts=here)

        sg = aws.ec2.SecurityGroup(
            child(name, "sg"),
            vpc_id=args.vpc_id,
            description="edge host: the API port from the functions and the admin CIDR; no SSH",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=args.api_port,
                    to_port=args.api_port,
                    security_groups=[args.functions_sg_id],
                    description="the node's API from the functions (probe, runbooks)",
                ),
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=args.api_port,
                    to_port=args.api_port,
                    cidr_blocks=[args.admin_cidr],
                    description="the node's API from the admins",
                ),
            ],
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                    description="RPC providers, AWS APIs, the database",
                )
            ],
            opts=here,
        )

        ami = args.ami_id or aws.ssm.get_parameter_output(name=AL2023_AMI).value
        severities = list(Severity)
        boot = pulumi.Output.all(
            config.name,
            args.token_secret_arn,
            args.db_secret_arn,
            args.rpc_secret_arn,
            logs.name,
            *(args.topic_arns[s] for s in severities),
        ).apply(
            lambda v: packed(
                user_data(
                    Boot(
                        release=args.release,
                        region=args.region,
                        stop_timeout_s=args.stop_timeout_s,
                        config_parameter=v[0],
                        token_secret_arn=v[1],
                        db_secret_arn=v[2],
                        rpc_secret_arn=v[3],
                        log_group=v[4],
                        live=args.live,
                        monitoring=HostMonitoring(
                            release=args.monitoring,
                            region=args.region,
                            api_port=args.api_port,
                            node_name=args.node_name,
                            live=args.live,
                            token_secret_arn=v[1],
                            topics={s.value: arn for s, arn in zip(severities, v[5:], strict=True)},
                        ),
                    )
                )
            )
        )
        instance = aws.ec2.Instance(
            child(name, "instance"),
            ami=ami,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            associate_public_ip_address=True,  # outbound to RPC providers without a NAT
            vpc_security_group_ids=[sg.id],
            iam_instance_profile=profile.name,
            monitoring=True,  # 1-minute metrics: the CPU alarm reads 5 of them
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True,
                kms_key_id=args.key_arn,
                volume_type="gp3",
                volume_size=args.volume_gb,
                delete_on_termination=True,
            ),
            user_data_base64=boot,
            user_data_replace_on_change=True,
            tags={"Name": f"{args.prefix}-edge-node"},
            # a newer AMI published by AWS must not replace the host on an unrelated `up`
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=[] if args.ami_id else ["ami"]),
        )
        self.instance_id = instance.id
        self.instance_arn = instance.arn
        self.private_ip = instance.private_ip
        self.sg_id = sg.id
        self.log_group = logs.name
        self.api_url = instance.private_ip.apply(lambda ip: f"http://{ip}:{args.api_port}")
        self.register_outputs(
            {
                "instance_id": instance.id,
                "private_ip": instance.private_ip,
                "api_url": self.api_url,
                "stop_flag": self.stop_flag.name,
                "log_group": logs.name,
            }
        )
