"""boto3 clients with bounded timeouts and retries, created on first use.

Every client gets a botocore ``Config`` with connect and read timeouts and a bounded number of
attempts (botocore's "standard" retry mode: exponential backoff with jitter, retries throttling
and transient errors only), so that no call can hang an invocation until Lambda kills it.

The endpoint is never set here: boto3 honours the standard ``AWS_ENDPOINT_URL`` (and the
per-service ``AWS_ENDPOINT_URL_S3``, ...) itself, which is how the CLI and the tests reach a
moto server. An explicit ``endpoint_url`` is accepted for the rare caller that needs one.

boto3 is imported when the first client is created, not when a handler module is imported:
that keeps it off the cold-start path of anything that never calls AWS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from botocore.config import Config
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

    from functions.common.settings import OpsSettings


@dataclass(frozen=True, slots=True)
class AwsOptions:
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 20.0
    max_attempts: int = 4
    region: str | None = None  # None: boto3's own resolution (AWS_REGION, profile, ...)
    endpoint_url: str | None = None  # None: boto3's own (AWS_ENDPOINT_URL or AWS)

    @classmethod
    def from_settings(cls, settings: OpsSettings) -> AwsOptions:
        return cls(
            connect_timeout_s=settings.aws_connect_timeout_s,
            read_timeout_s=settings.aws_read_timeout_s,
            max_attempts=settings.aws_max_attempts,
        )


def boto_config(options: AwsOptions) -> Config:
    from botocore.config import Config

    return Config(
        connect_timeout=options.connect_timeout_s,
        read_timeout=options.read_timeout_s,
        retries={"mode": "standard", "total_max_attempts": options.max_attempts},
        # Lambda runs one request at a time per process; a few connections are plenty.
        max_pool_connections=10,
    )


_first_client_hooks: list[Callable[[], None]] = []


def before_first_client(hook: Callable[[], None]) -> None:
    """Run ``hook`` once, before the process creates its first client (X-Ray patching of
    botocore: it costs botocore's import, so it waits until boto3 is used anyway)."""
    _first_client_hooks.append(hook)


def make_client(service: str, options: AwsOptions | None = None, session: Any = None) -> Any:
    """A client for ``service`` with our timeouts and retries (typed wrappers below)."""
    import boto3

    while _first_client_hooks:
        _first_client_hooks.pop(0)()

    options = options or AwsOptions()
    kwargs: dict[str, Any] = {"config": boto_config(options)}
    if options.region is not None:
        kwargs["region_name"] = options.region
    if options.endpoint_url is not None:
        kwargs["endpoint_url"] = options.endpoint_url
    chosen: Any = session or boto3.session.Session()
    return chosen.client(service, **kwargs)


class AwsClients:
    """The clients a function uses, each created on first access and then reused.

    A handler module keeps one instance at module level, so warm invocations reuse connections;
    tests build their own inside ``mock_aws`` (or pass an endpoint) and hand it to the core.
    """

    def __init__(self, options: AwsOptions | None = None, session: Any = None) -> None:
        self.options = options or AwsOptions()
        self._session = session

    def client(self, service: str) -> Any:
        return make_client(service, self.options, self._session)

    @cached_property
    def s3(self) -> S3Client:
        return self.client("s3")  # type: ignore[no-any-return]

    @cached_property
    def secretsmanager(self) -> SecretsManagerClient:
        return self.client("secretsmanager")  # type: ignore[no-any-return]

    @cached_property
    def ssm(self) -> SSMClient:
        return self.client("ssm")  # type: ignore[no-any-return]

    @cached_property
    def cloudwatch(self) -> CloudWatchClient:
        return self.client("cloudwatch")  # type: ignore[no-any-return]

    @cached_property
    def sns(self) -> SNSClient:
        return self.client("sns")  # type: ignore[no-any-return]

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        return self.client("dynamodb")  # type: ignore[no-any-return]


def error_code(err: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` ("NoSuchKey", ...), else None."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def http_status(err: BaseException) -> int | None:
    """The HTTP status of a botocore ``ClientError``, else None."""
    response = getattr(err, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status is not None else None
    return None
