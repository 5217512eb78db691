from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from functions.common.aws import AwsClients, AwsOptions, boto_config, error_code, http_status
from functions.common.settings import OpsSettings
from tests.support.silent_server import silent_server


def test_config_bounds_timeouts_and_attempts() -> None:
    options = AwsOptions.from_settings(
        OpsSettings(aws_connect_timeout_s=1.5, aws_read_timeout_s=7, aws_max_attempts=2)
    )
    config: Any = boto_config(options)
    assert (config.connect_timeout, config.read_timeout) == (1.5, 7)
    assert config.retries == {"mode": "standard", "total_max_attempts": 2}


def test_clients_are_created_once_and_work_against_moto(aws: AwsClients) -> None:
    assert aws.s3 is aws.s3
    aws.s3.create_bucket(Bucket="edge-x")
    assert [b["Name"] for b in aws.s3.list_buckets()["Buckets"]] == ["edge-x"]
    config: Any = aws.s3.meta.config
    assert config.read_timeout == 20.0


def test_aws_endpoint_url_is_honoured(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard variable alone sends our clients to the moto server (as the CLI does)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    clients = AwsClients()
    clients.s3.create_bucket(Bucket="edge-endpoint")
    clients.ssm.put_parameter(Name="/edge/x", Value="1", Type="String")
    direct = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert "edge-endpoint" in [b["Name"] for b in direct.list_buckets()["Buckets"]]
    direct_ssm = boto3.client("ssm", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert direct_ssm.get_parameter(Name="/edge/x")["Parameter"]["Value"] == "1"


def test_a_hung_endpoint_fails_after_the_bounded_attempts() -> None:
    with silent_server() as server:
        clients = AwsClients(
            AwsOptions(
                read_timeout_s=0.3, connect_timeout_s=0.3, max_attempts=2, endpoint_url=server.url
            )
        )
        with pytest.raises(ReadTimeoutError):
            clients.s3.list_buckets()
        # The first try and one retry, then it gives up.
        assert server.connections_before_now() == 2


def test_error_code_and_status_of_client_errors(aws: AwsClients) -> None:
    with pytest.raises(ClientError) as err:
        aws.s3.head_bucket(Bucket="does-not-exist")
    assert http_status(err.value) == 404
    with pytest.raises(ClientError) as err2:
        aws.s3.get_object(Bucket="does-not-exist", Key="k")
    assert error_code(err2.value) == "NoSuchBucket"
    assert error_code(ValueError("x")) is None and http_status(ValueError("x")) is None


def test_the_moto_fixture_emulates_every_service_the_functions_use(aws: AwsClients) -> None:
    aws.cloudwatch.put_metric_data(
        Namespace="EdgeOps", MetricData=[{"MetricName": "BackupBytes", "Value": 5.0}]
    )
    assert aws.cloudwatch.list_metrics(Namespace="EdgeOps")["Metrics"][0]["MetricName"] == (
        "BackupBytes"
    )
    topic = aws.sns.create_topic(Name="edge-ops")["TopicArn"]
    assert aws.sns.publish(TopicArn=topic, Message="hello")["MessageId"]
    aws.dynamodb.create_table(
        TableName="edge-dedup",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws.dynamodb.put_item(TableName="edge-dedup", Item={"id": {"S": "a"}})
    assert aws.dynamodb.get_item(TableName="edge-dedup", Key={"id": {"S": "a"}})["Item"]
    aws.ssm.put_parameter(Name="/edge/flag", Value="true", Type="String")
    assert aws.ssm.get_parameter(Name="/edge/flag")["Parameter"]["Value"] == "true"
