from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy.exc
from botocore.exceptions import ClientError
from sqlalchemy import create_engine, text

from functions.common.aws import AwsClients
from functions.common.errors import BadInput, CredentialsRefused
from functions.common.secrets import (
    SecretRefused,
    SecretSource,
    is_auth_refusal,
    with_fresh_secret,
)
from tests.functions.common.fake_pg import refusing_postgres


def _count_reads(aws: AwsClients) -> list[str]:
    reads: list[str] = []
    aws.secretsmanager.meta.events.register(
        "provide-client-params.secrets-manager.GetSecretValue",
        lambda params, **_: reads.append(params["SecretId"]),
    )
    return reads


def test_secret_is_cached_until_forced_or_expired(aws: AwsClients) -> None:
    aws.secretsmanager.create_secret(Name="edge/api", SecretString="v1")
    reads = _count_reads(aws)
    source = SecretSource(aws.secretsmanager, max_age_s=300)
    assert source.get("edge/api") == "v1"
    aws.secretsmanager.put_secret_value(SecretId="edge/api", SecretString="v2")
    assert source.get("edge/api") == "v1"  # cached: warm invocations do not call AWS
    assert len(reads) == 1
    assert source.get("edge/api", force=True) == "v2"
    assert len(reads) == 2
    aws.secretsmanager.put_secret_value(SecretId="edge/api", SecretString="v3")
    assert SecretSource(aws.secretsmanager, max_age_s=0).get("edge/api") == "v3"


def test_json_secret_and_bad_secrets(aws: AwsClients) -> None:
    aws.secretsmanager.create_secret(Name="edge/json", SecretString='{"a": 1}')
    aws.secretsmanager.create_secret(Name="edge/text", SecretString="not json")
    aws.secretsmanager.create_secret(Name="edge/list", SecretString="[1]")
    source = SecretSource(aws.secretsmanager)
    assert source.get_json("edge/json") == {"a": 1}
    with pytest.raises(BadInput, match="not a JSON object"):
        source.get_json("edge/text")
    with pytest.raises(BadInput, match="not a JSON object"):
        source.get_json("edge/list")
    with pytest.raises(BadInput, match="'edge/missing' does not exist"):
        source.get("edge/missing")
    aws.secretsmanager.create_secret(Name="edge/bin", SecretBinary=b"\xff\xfe")
    with pytest.raises(BadInput, match="binary, not text"):
        source.get("edge/bin")


def test_a_rotated_secret_is_fetched_again_once_and_the_call_retried(aws: AwsClients) -> None:
    aws.secretsmanager.create_secret(Name="edge/token", SecretString="old")
    source = SecretSource(aws.secretsmanager)
    assert source.get("edge/token") == "old"  # cached before the rotation
    aws.secretsmanager.put_secret_value(SecretId="edge/token", SecretString="new")
    reads = _count_reads(aws)
    tried: list[str] = []

    def call(token: str) -> str:
        tried.append(token)
        if token != "new":
            raise SecretRefused("401")
        return "ok"

    assert with_fresh_secret(source.fetcher("edge/token"), call) == "ok"
    assert tried == ["old", "new"]
    assert reads == ["edge/token"]  # one forced read; the first value came from the cache


def test_refused_twice_is_credentials_refused() -> None:
    fetched: list[bool] = []

    def fetch(force: bool) -> str:
        fetched.append(force)
        return "bad"

    def call(_: str) -> None:
        raise SecretRefused("still refused")

    with pytest.raises(CredentialsRefused, match="refused again"):
        with_fresh_secret(fetch, call)
    assert fetched == [False, True]


def test_other_errors_propagate_without_a_refetch() -> None:
    fetched: list[bool] = []

    def fetch(force: bool) -> str:
        fetched.append(force)
        return "s"

    def call(_: str) -> None:
        raise TimeoutError("database slow")

    with pytest.raises(TimeoutError):
        with_fresh_secret(fetch, call)
    assert fetched == [False]


def test_a_custom_predicate_decides_what_is_refused() -> None:
    calls: list[str] = []

    def call(v: str) -> str:
        calls.append(v)
        if len(calls) == 1:
            raise RuntimeError("token expired")
        return v

    assert (
        with_fresh_secret(
            lambda force: "fresh" if force else "stale",
            call,
            refused=lambda e: "expired" in str(e),
        )
        == "fresh"
    )


class _HttpError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _RequestsLikeError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__("http error")
        self.response = _Response(status_code)


def _client_error(status: int, code: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetObject")


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as e:
            raise RuntimeError("while working") from e
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("err", "refused"),
    [
        (SecretRefused(), True),
        (_HttpError(401), True),
        (_HttpError(403), True),
        (_HttpError(500), False),
        (_HttpError(429), False),
        (_RequestsLikeError(401), True),
        (_RequestsLikeError(404), False),
        (_client_error(403, "AccessDenied"), True),
        (_client_error(503, "SlowDown"), False),
        (psycopg.OperationalError("connection refused"), False),
        (psycopg.OperationalError('FATAL:  role "edge_a" does not exist'), True),
        (_wrapped(_HttpError(401)), True),
        (_wrapped(TimeoutError()), False),
        (ValueError("authentication failed"), False),  # only a driver's error is read as text
    ],
)
def test_what_counts_as_refused(err: BaseException, refused: bool) -> None:
    assert is_auth_refusal(err) is refused


def test_a_real_password_failure_from_psycopg_and_sqlalchemy_is_refused() -> None:
    with refusing_postgres() as port:
        url = f"postgresql://edge:wrong@127.0.0.1:{port}/edge"
        with pytest.raises(psycopg.OperationalError) as raw:
            psycopg.connect(url, connect_timeout=30)
        assert "password authentication failed" in str(raw.value)
        assert is_auth_refusal(raw.value)
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with (
                pytest.raises(sqlalchemy.exc.OperationalError) as wrapped,
                engine.connect() as conn,
            ):
                conn.execute(text("select 1"))
        finally:
            engine.dispose()
        assert type(wrapped.value).__module__.startswith("sqlalchemy")
        assert is_auth_refusal(wrapped.value)
