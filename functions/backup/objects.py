"""Object stores the backups go to: S3 (a boto3 client passed in) and a local directory.

Both offer the same small protocol: multipart uploads that are either completed or aborted
(a local one writes a hidden temporary file and renames it on completion), whole-object
puts for the small JSON files, streamed reads, listings and deletes. Every S3 object is written
with server-side encryption requested.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from functions.backup.errors import BackupNotFound, SourceUnavailable
from functions.common.aws import error_code

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    key: str
    size: int
    modified: datetime


@dataclass(frozen=True, slots=True)
class PendingUpload:
    key: str
    upload_id: str
    started: datetime


class Upload(Protocol):
    def upload_part(self, data: bytes) -> None: ...
    def complete(self) -> None: ...
    def abort(self) -> None: ...


class ObjectStore(Protocol):
    def describe(self) -> str: ...
    def start_upload(self, key: str) -> Upload: ...
    def put(self, key: str, data: bytes) -> None: ...
    def get(self, key: str) -> bytes: ...
    def open(self, key: str) -> IO[bytes]: ...
    def listing(self, prefix: str) -> Iterator[ObjectInfo]: ...
    def delete(self, keys: list[str]) -> None: ...
    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]: ...
    def abort_pending(self, upload: PendingUpload) -> None: ...


@contextmanager
def _s3(what: str, key: str = "") -> Iterator[None]:
    """botocore's errors as ours: a missing key is BackupNotFound, anything else Unavailable
    (S3 refused or could not be reached; the caller aborts and nothing is kept)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        code = error_code(err) or "error"
        if code in ("NoSuchKey", "404", "NotFound"):
            raise BackupNotFound(f"{key or what} does not exist") from None
        raise SourceUnavailable(f"S3 refused to {what} ({code}: {err})") from err
    except BotoCoreError as err:
        raise SourceUnavailable(f"S3 could not {what}: {err}") from err


class _Body:
    """An object's body whose read errors are ours too."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def read(self, n: int = -1) -> bytes:
        with _s3(f"read {self._key}"):
            return self._body.read(n if n >= 0 else None)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._body.close()

    def __enter__(self) -> _Body:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _S3Upload:
    def __init__(self, store: S3Objects, key: str) -> None:
        self._s3 = store
        self._key = key
        with _s3(f"start an upload of {key}"):
            resp = store.client.create_multipart_upload(Bucket=store.bucket, Key=key, **store.sse)  # type: ignore[arg-type]
        self._id = resp["UploadId"]
        self._parts: list[dict[str, Any]] = []

    def upload_part(self, data: bytes) -> None:
        n = len(self._parts) + 1
        with _s3(f"take part {n} of {self._key}"):
            resp = self._s3.client.upload_part(
                Bucket=self._s3.bucket, Key=self._key, UploadId=self._id, PartNumber=n, Body=data
            )
        self._parts.append({"PartNumber": n, "ETag": resp["ETag"]})

    def complete(self) -> None:
        with _s3(f"complete {self._key}"):
            self._s3.client.complete_multipart_upload(
                Bucket=self._s3.bucket,
                Key=self._key,
                UploadId=self._id,
                MultipartUpload={"Parts": self._parts},  # type: ignore[typeddict-item]
            )

    def abort(self) -> None:
        with _s3(f"abort the upload of {self._key}"):
            self._s3.client.abort_multipart_upload(
                Bucket=self._s3.bucket, Key=self._key, UploadId=self._id
            )


class S3Objects:
    """One bucket through a boto3 S3 client; ``sse`` is "AES256" or "aws:kms" (with a key id)."""

    def __init__(
        self, client: S3Client, bucket: str, sse: str = "AES256", kms_key_id: str | None = None
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.sse: dict[str, str] = {"ServerSideEncryption": sse}
        if sse == "aws:kms" and kms_key_id:
            self.sse["SSEKMSKeyId"] = kms_key_id

    def describe(self) -> str:
        return f"s3://{self.bucket}"

    def start_upload(self, key: str) -> Upload:
        return _S3Upload(self, key)

    def put(self, key: str, data: bytes) -> None:
        with _s3(f"write {key}"):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **self.sse)  # type: ignore[arg-type]

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def open(self, key: str) -> IO[bytes]:
        with _s3(f"read {key}", f"s3://{self.bucket}/{key}"):
            return _Body(self.client.get_object(Bucket=self.bucket, Key=key)["Body"], key)  # type: ignore[return-value]

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        with _s3(f"list {prefix or 'the bucket'}"):
            for page in pages:
                for obj in page.get("Contents", []):
                    yield ObjectInfo(obj["Key"], obj["Size"], obj["LastModified"])

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 1000):
            batch = keys[i : i + 1000]
            with _s3(f"delete {len(batch)} objects"):
                resp = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            errors = resp.get("Errors", [])
            if errors:
                first = errors[0]
                raise SourceUnavailable(
                    f"S3 refused to delete {len(errors)} objects, e.g. {first.get('Key')}: "
                    f"{first.get('Message')}"
                )

    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        pages = self.client.get_paginator("list_multipart_uploads").paginate(
            Bucket=self.bucket, Prefix=prefix
        )
        with _s3("list unfinished uploads"):
            for page in pages:
                for up in page.get("Uploads", []):
                    yield PendingUpload(up["Key"], up["UploadId"], up["Initiated"])

    def abort_pending(self, upload: PendingUpload) -> None:
        with _s3(f"abort the upload of {upload.key}"):
            self.client.abort_multipart_upload(
                Bucket=self.bucket, Key=upload.key, UploadId=upload.upload_id
            )


class _DirUpload:
    def __init__(self, root: Path, key: str) -> None:
        self._final = root / key
        self._final.parent.mkdir(parents=True, exist_ok=True)
        # Hidden while incomplete: listings skip it, as S3 does an unfinished multipart upload.
        fd, name = tempfile.mkstemp(prefix=".upload-", dir=root)
        self._tmp = Path(name)
        self._file = os.fdopen(fd, "wb")

    def upload_part(self, data: bytes) -> None:
        self._file.write(data)

    def complete(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self._tmp, self._final)

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)


class DirObjects:
    """A local directory standing in for a bucket (benchmarks, laptops without S3)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def describe(self) -> str:
        return f"file://{self.root}"

    def start_upload(self, key: str) -> Upload:
        return _DirUpload(self.root, key)

    def put(self, key: str, data: bytes) -> None:
        up = _DirUpload(self.root, key)
        up.upload_part(data)
        up.complete()

    def get(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def open(self, key: str) -> IO[bytes]:
        try:
            return (self.root / key).open("rb")
        except FileNotFoundError:
            raise BackupNotFound(f"{self.root / key} does not exist") from None

    def listing(self, prefix: str) -> Iterator[ObjectInfo]:
        for path in sorted(self.root.rglob("*")):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and not path.name.startswith(".upload-") and key.startswith(prefix):
                st = path.stat()
                yield ObjectInfo(key, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC))

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            (self.root / key).unlink(missing_ok=True)

    def pending_uploads(self, prefix: str) -> Iterator[PendingUpload]:
        for path in self.root.glob(".upload-*"):
            st = path.stat()
            yield PendingUpload(path.name, path.name, datetime.fromtimestamp(st.st_mtime, UTC))

    def abort_pending(self, upload: PendingUpload) -> None:
        (self.root / upload.key).unlink(missing_ok=True)
