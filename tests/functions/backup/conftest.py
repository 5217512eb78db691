"""Fixtures of the backup tests: an S3 bucket in moto (in-process), and filled stores."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.backup.objects import S3Objects
from tests.functions.backup.store_data import populate

BUCKET = "edge-backups"
PREFIX = "prod/db"


@pytest.fixture
def s3_client() -> Iterator[Any]:
    env = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield client
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def bucket(s3_client: Any) -> S3Objects:
    return S3Objects(s3_client, BUCKET)


@pytest.fixture
def filled_db(db_url: str) -> str:
    populate(db_url, 1200)
    return db_url
