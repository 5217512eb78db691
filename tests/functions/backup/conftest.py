"""Fixtures of the backup tests: the bucket (moto, from tests/functions/conftest.py) as the
backup cores' object store, and filled stores."""

from __future__ import annotations

import pytest

from functions.backup.objects import S3Objects
from functions.common.aws import AwsClients
from functions.common.s3url import S3Location
from tests.functions.backup.store_data import populate

PREFIX = "prod/db"


@pytest.fixture
def bucket(aws: AwsClients, s3_bucket: S3Location) -> S3Objects:
    return S3Objects(aws.s3, s3_bucket.bucket)


@pytest.fixture
def s3_client(aws: AwsClients, s3_bucket: S3Location) -> object:
    return aws.s3


@pytest.fixture
def filled_db(db_url: str) -> str:
    populate(db_url, 1200)
    return db_url
