"""Secrets Manager emulated in this process by moto, with the test credentials it wants and no
endpoint override from the environment."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws


@contextlib.contextmanager
def moto_secretsmanager(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for k, v in (("AWS_ACCESS_KEY_ID", "t"), ("AWS_SECRET_ACCESS_KEY", "t")):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="us-east-1")
