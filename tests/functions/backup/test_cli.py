"""``edge-ops`` backup commands run as an operator runs them: a subprocess against a moto
server, on SQLite and the real PostgreSQL; and a backup killed outright (SIGKILL) mid-upload."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import postgres_base_url
from tests.functions.backup.store_data import populate
from tests.functions.cli_runner import EDGE_OPS, edge_ops
from tests.functions.conftest import TEST_BUCKET

LOC = f"s3://{TEST_BUCKET}/ops/db"


@pytest.fixture
def s3(cli_env: dict[str, str]) -> Any:
    client = boto3.client("s3", endpoint_url=cli_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    client.create_bucket(Bucket=TEST_BUCKET)
    return client


def _json(*args: str, env: dict[str, str], code: int = 0) -> dict[str, Any]:
    done = edge_ops(*args, "--json", env=env, timeout=240)
    assert done.returncode == code, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_backup_list_verify_restore_on_sqlite(
    tmp_path: Path, cli_env: dict[str, str], s3: Any
) -> None:
    db = f"sqlite:///{tmp_path}/edge.db"
    populate(db, 500)
    made = _json("backup", "--db", db, "--to", LOC, env=cli_env)
    assert made["ok"] and made["rows"] > 500 and made["location"] == f"{LOC}/{made['id']}"

    listed = _json("backups", "--from", LOC, env=cli_env)
    assert [b["id"] for b in listed["backups"]] == [made["id"]]
    assert listed["backups"][0]["state"] == "unverified" and listed["backups"][0]["size_bytes"] > 0

    checked = _json("verify", "--from", LOC, "latest", env=cli_env)
    assert checked["state"] == "verified" and checked["rows"] == made["rows"]
    assert _json("backups", "--from", LOC, env=cli_env)["backups"][0]["state"] == "verified"

    fresh = f"sqlite:///{tmp_path}/restored.db"
    restored = _json("restore", "--from", LOC, "latest", "--to", fresh, env=cli_env)
    assert restored["rows"] == made["rows"] and restored["pre_restore_backup"] is None

    refused = edge_ops("restore", "--from", LOC, made["id"], "--to", db, env=cli_env)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr

    forced = _json("restore", "--from", LOC, made["id"], "--to", db, "--force", env=cli_env)
    assert forced["pre_restore_backup"]
    reasons = {
        b["id"]: b["reason"] for b in _json("backups", "--from", LOC, env=cli_env)["backups"]
    }
    assert reasons == {made["id"]: "manual", forced["pre_restore_backup"]: "pre-restore"}


@pytest.mark.postgres
def test_backup_verify_drill_on_postgres(pg_url: str, cli_env: dict[str, str], s3: Any) -> None:
    populate(pg_url, 600)
    env = {**cli_env, "DATABASE_URL": pg_url}
    made = _json("backup", "--to", LOC, env=env)  # the database from DATABASE_URL
    checked = _json("verify", "--from", LOC, made["id"], "--scratch", postgres_base_url(), env=env)
    assert checked["state"] == "verified"
    drilled = _json("drill", "--from", LOC, env=env)  # scratch on DATABASE_URL's server
    assert drilled["state"] == "verified" and drilled["rto_s"] > 0


def test_a_damaged_backup_fails_verification_with_exit_1(
    tmp_path: Path, cli_env: dict[str, str], s3: Any
) -> None:
    db = f"sqlite:///{tmp_path}/edge.db"
    populate(db, 300)
    made = _json("backup", "--db", db, "--to", LOC, env=cli_env)
    key = f"ops/db/{made['id']}/data.zst"
    body = s3.get_object(Bucket=TEST_BUCKET, Key=key)["Body"].read()
    s3.put_object(Bucket=TEST_BUCKET, Key=key, Body=body[:-10])
    failed = _json("verify", "--from", LOC, env=cli_env, code=1)
    assert failed["state"] == "failed" and any("truncated" in p for p in failed["problems"])
    listed = _json("backups", "--from", LOC, env=cli_env)["backups"]
    assert listed[0]["state"] == "failed" and "truncated" in listed[0]["problems"][0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["backup", "--db", "sqlite:///x.db", "--to", "s3://Bad_Bucket/p"], "bucket"),
        (["backup", "--db", "sqlite:///x.db", "--to", f"s3://{TEST_BUCKET}"], "prefix"),
        (["backup", "--db", "mysql://u@h/db", "--to", LOC], "database URL"),
        (["verify", "--from", LOC, "yesterday"], "not a backup id"),
        (["verify", "--from", LOC, "20250101T000000Z-abcdef"], "no backup"),
        (["restore", "--from", LOC, "latest", "--to", "sqlite:///y.db"], "no backup"),
        (["retention", "--from", LOC, "--orphan-age", "soon"], "not a duration"),
        (["backups"], "EDGE_OPS_BACKUP_LOCATION"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], words: str, cli_env: dict[str, str], s3: Any
) -> None:
    done = edge_ops(*args, env=cli_env)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and lines[0].startswith("edge-ops: error:"), lines


@pytest.mark.postgres
@pytest.mark.slow
def test_backup_killed_mid_upload_leaves_no_backup_and_is_cleaned_up(
    pg_url: str, cli_env: dict[str, str], s3: Any
) -> None:
    populate(pg_url, 150_000)
    env = {**cli_env, "EDGE_OPS_BACKUP_PART_MIB": "5"}
    proc = subprocess.Popen(
        [str(EDGE_OPS), "backup", "--db", pg_url, "--to", LOC],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            uploads = s3.list_multipart_uploads(Bucket=TEST_BUCKET).get("Uploads", [])
            if uploads:
                parts = s3.list_parts(
                    Bucket=TEST_BUCKET, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
                )
                if parts.get("Parts"):
                    break
            assert proc.poll() is None, "the backup finished before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("no part was uploaded in time")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    listed = _json("backups", "--from", LOC, env=cli_env)
    assert listed["backups"] == []
    assert s3.list_objects_v2(Bucket=TEST_BUCKET).get("KeyCount") == 0
    assert len(s3.list_multipart_uploads(Bucket=TEST_BUCKET).get("Uploads", [])) == 1

    young = _json("retention", "--from", LOC, env=cli_env)  # a day has not passed: kept
    assert young["uploads_aborted"] == 0
    cleaned = _json("retention", "--from", LOC, "--orphan-age", "0s", env=cli_env)
    assert cleaned["uploads_aborted"] == 1
    assert s3.list_multipart_uploads(Bucket=TEST_BUCKET).get("Uploads", []) == []
