"""The network: a VPC, private subnets for the database and the functions, public subnets for
the edge host, and VPC endpoints for the AWS services the functions in the VPC call.

NAT: one gateway, because the probe runs in the VPC (it must reach the node's API, which is
open only to the functions' security group) and must also reach the RPC providers on the
internet to compare their head with the node's. Every AWS service the functions call goes
through an endpoint instead, so the NAT carries only that traffic; a stack without the probe's
internet checks can turn it off (``natGateway: false``). The edge host needs no NAT: it has
its own public address (outbound only: no inbound rule but the API port, see edge_host).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.naming import child

# Interface endpoints (private DNS) for what the functions in the VPC call; S3 and DynamoDB are
# gateway endpoints (free, on the route tables).
INTERFACE_SERVICES = ("secretsmanager", "ssm", "sns", "sqs", "logs", "monitoring", "lambda")
GATEWAY_SERVICES = ("s3", "dynamodb")


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: str
    availability_zones: list[str]
    nat_gateway: bool = True


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    functions_sg_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("edge:infra:Network", name, None, opts)
        if len(args.availability_zones) < 2:
            raise ValueError("the database needs subnets in two availability zones at least")
        here = pulumi.ResourceOptions(parent=self)
        net = ipaddress.ip_network(args.cidr)
        blocks = [str(s) for s in net.subnets(new_prefix=max(net.prefixlen + 4, 20))]

        vpc = aws.ec2.Vpc(
            child(name, "vpc"),
            cidr_block=args.cidr,
            enable_dns_hostnames=True,  # private DNS of the interface endpoints needs both
            enable_dns_support=True,
            tags={"Name": name},
            opts=here,
        )
        igw = aws.ec2.InternetGateway(child(name, "igw"), vpc_id=vpc.id, opts=here)
        public_rt = aws.ec2.RouteTable(
            child(name, "public-rt"),
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=here,
        )
        public, private = [], []
        for i, az in enumerate(args.availability_zones):
            pub = aws.ec2.Subnet(
                child(name, f"public-{i}"),
                vpc_id=vpc.id,
                cidr_block=blocks[i],
                availability_zone=az,
                map_public_ip_on_launch=False,  # the host asks for its own address
                tags={"Name": f"{name}-public-{az}"},
                opts=here,
            )
            aws.ec2.RouteTableAssociation(
                child(name, f"public-{i}-rt"),
                subnet_id=pub.id,
                route_table_id=public_rt.id,
                opts=here,
            )
            priv = aws.ec2.Subnet(
                child(name, f"private-{i}"),
                vpc_id=vpc.id,
                cidr_block=blocks[8 + i],
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-private-{az}"},
                opts=here,
            )
            public.append(pub)
            private.append(priv)

        routes = []
        if args.nat_gateway:
            eip = aws.ec2.Eip(child(name, "nat-ip"), domain="vpc", opts=here)
            nat = aws.ec2.NatGateway(
                child(name, "nat"),
                allocation_id=eip.id,
                subnet_id=public[0].id,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )
            routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)]
        private_rt = aws.ec2.RouteTable(
            child(name, "private-rt"), vpc_id=vpc.id, routes=routes, opts=here
        )
        for i, priv in enumerate(private):
            aws.ec2.RouteTableAssociation(
                child(name, f"private-{i}-rt"),
                subnet_id=priv.id,
                route_table_id=private_rt.id,
                opts=here,
            )

        functions_sg = aws.ec2.SecurityGroup(
            child(name, "functions-sg"),
            vpc_id=vpc.id,
            description="Lambda functions in the VPC: no inbound; outbound to the VPC and HTTPS",
            egress=[
                aws.ec2.SecurityGroupEgressArgs(
                    protocol="-1",
                    from_port=0,
                    to_port=0,
                    cidr_blocks=["0.0.0.0/0"],
                    description="the database, the node's API, endpoints, RPC providers",
                )
            ],
            opts=here,
        )
        endpoints_sg = aws.ec2.SecurityGroup(
            child(name, "endpoints-sg"),
            vpc_id=vpc.id,
            description="VPC interface endpoints: HTTPS from inside the VPC",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.cidr],
                    description="HTTPS from the VPC",
                )
            ],
            opts=here,
        )
        for service in GATEWAY_SERVICES:
            aws.ec2.VpcEndpoint(
                child(name, f"vpce-{service}"),
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Gateway",
                route_table_ids=[private_rt.id, public_rt.id],
                opts=here,
            )
        for service in INTERFACE_SERVICES:
            aws.ec2.VpcEndpoint(
                child(name, f"vpce-{service}"),
                vpc_id=vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=[p.id for p in private],
                security_group_ids=[endpoints_sg.id],
                private_dns_enabled=True,
                opts=here,
            )

        self.vpc_id = vpc.id
        self.cidr = args.cidr
        self.private_subnet_ids = [p.id for p in private]
        self.public_subnet_ids = [p.id for p in public]
        self.functions_sg_id = functions_sg.id
        self.register_outputs(
            {
                "vpc_id": vpc.id,
                "private_subnet_ids": self.private_subnet_ids,
                "public_subnet_ids": self.public_subnet_ids,
                "functions_sg_id": functions_sg.id,
            }
        )
