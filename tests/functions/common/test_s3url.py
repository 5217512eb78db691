from __future__ import annotations

import pytest

from functions.common.errors import BadInput
from functions.common.s3url import S3Location


def test_parse_bucket_and_prefix() -> None:
    loc = S3Location.parse("s3://edge-backups/prod/daily/")
    assert (loc.bucket, loc.prefix) == ("edge-backups", "prod/daily")
    assert loc.key("2026-11-30", "manifest.json") == "prod/daily/2026-11-30/manifest.json"
    assert loc.key("/a/", "b") == "prod/daily/a/b"
    assert loc.list_prefix == "prod/daily/"
    assert loc.child("x").url("y") == "s3://edge-backups/prod/daily/x/y"
    assert str(loc) == "s3://edge-backups/prod/daily"
    assert S3Location.parse(str(loc)) == loc


def test_a_bucket_alone_is_its_root() -> None:
    loc = S3Location.parse("s3://edge-backups")
    assert loc.prefix == "" and loc.list_prefix == ""
    assert loc.key("a.json") == "a.json"
    assert str(loc) == "s3://edge-backups"
    assert S3Location.parse("s3://edge-backups/") == loc


def test_a_prefix_can_be_required() -> None:
    with pytest.raises(BadInput, match="names a whole bucket"):
        S3Location.parse("s3://edge-backups/", require_prefix=True)
    assert S3Location.parse("s3://edge-backups/p", require_prefix=True).prefix == "p"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("edge-backups/prod", "not an S3 location"),
        ("https://edge-backups.s3.amazonaws.com/x", "not an S3 location"),
        ("s3:/edge-backups", "not an S3 location"),
        ("s3://", "has no bucket"),
        ("s3:///prefix", "has no bucket"),
        ("s3://Edge-Backups/x", "not a valid S3 bucket name"),
        ("s3://ab/x", "not a valid S3 bucket name"),
        ("s3://-edge/x", "not a valid S3 bucket name"),
        ("s3://edge_backups/x", "not a valid S3 bucket name"),
        ("s3://192.168.1.10/x", "not a valid S3 bucket name"),
        ("s3://edge..backups/x", "not a valid S3 bucket name"),
        ("s3://" + "b" * 64, "not a valid S3 bucket name"),
        ("s3://edge-backups/a//b", "empty, '.' or '..'"),
        ("s3://edge-backups/a/../b", "empty, '.' or '..'"),
        ("s3://edge-backups/a b", "spaces or control characters"),
        ("s3://edge-backups/a\nb", "spaces or control characters"),
        ("s3://edge-backups/" + "p" * 1000, "too long"),
    ],
)
def test_bad_locations_are_refused_with_the_reason(url: str, why: str) -> None:
    with pytest.raises(BadInput, match=why.replace(".", r"\.")):
        S3Location.parse(url)
