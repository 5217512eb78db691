"""``s3://bucket/prefix`` locations, checked when parsed.

Bucket names follow S3's rules for new buckets (3-63 characters: lowercase letters, digits,
dots and hyphens, starting and ending with a letter or digit, not an IP address). A prefix is
kept without leading or trailing slashes, and must not contain empty, "." or ".." segments:
those name keys that tools show differently from what was meant, and a clean-up with an empty
prefix once wiped a whole bucket (FIELD-NOTES), so callers that delete can demand a prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from functions.common.errors import BadInput

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_MAX_KEY_BYTES = 1024


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    prefix: str = ""  # no leading or trailing "/"; "" is the bucket's root

    @classmethod
    def parse(cls, url: str, *, require_prefix: bool = False) -> S3Location:
        """``s3://bucket[/prefix]`` or ``BadInput`` saying what is wrong with it."""
        if not isinstance(url, str) or not url.startswith("s3://"):
            raise BadInput(f"{url!r} is not an S3 location: write s3://BUCKET/PREFIX")
        if any(c.isspace() or not c.isprintable() for c in url):
            raise BadInput(f"{url!r}: an S3 location must not contain spaces or control characters")
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        return cls.of(bucket, prefix, require_prefix=require_prefix, shown=url)

    @classmethod
    def of(
        cls, bucket: str, prefix: str = "", *, require_prefix: bool = False, shown: str = ""
    ) -> S3Location:
        shown = shown or f"s3://{bucket}/{prefix}"
        if not bucket:
            raise BadInput(f"{shown!r} has no bucket: write s3://BUCKET/PREFIX")
        if not _BUCKET.fullmatch(bucket) or ".." in bucket or _IP.fullmatch(bucket):
            raise BadInput(
                f"{bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, "
                "dots or hyphens, starting and ending with a letter or digit)"
            )
        prefix = prefix.strip("/")
        if prefix:
            for segment in prefix.split("/"):
                if segment in ("", ".", ".."):
                    raise BadInput(
                        f"{shown!r}: the prefix must not contain empty, '.' or '..' segments"
                    )
        elif require_prefix:
            raise BadInput(
                f"{shown!r} names a whole bucket; give a prefix (s3://{bucket}/PREFIX) so that "
                "nothing else in the bucket is touched"
            )
        if len(prefix.encode()) > _MAX_KEY_BYTES - 64:
            raise BadInput(f"{shown!r}: the prefix is too long for S3 keys")
        return cls(bucket, prefix)

    def key(self, *parts: str) -> str:
        """The object key of ``parts`` under this prefix (parts are joined with "/")."""
        names = [p.strip("/") for p in parts if p.strip("/")]
        return "/".join([self.prefix, *names] if self.prefix else names)

    def child(self, *parts: str) -> S3Location:
        return S3Location(self.bucket, self.key(*parts))

    @property
    def list_prefix(self) -> str:
        """The prefix to list this location's objects with (ends in "/" unless the root), so
        that ``s3://b/daily`` never lists ``s3://b/daily-old/...``."""
        return f"{self.prefix}/" if self.prefix else ""

    def url(self, *parts: str) -> str:
        key = self.key(*parts)
        return f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}"

    def __str__(self) -> str:
        return self.url()
