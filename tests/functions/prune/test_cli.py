"""``edge-ops prune`` in a subprocess against a moto server: killed with SIGKILL halfway, then run
again, every row is still in the database or archived (and verified) exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from tests.functions.cli_runner import EDGE_OPS, edge_ops
from tests.functions.prune.seed import Seeded, check_exactly_once, keys_in_db, seed_store
from tests.support.waiting import eventually

BUCKET = "edge-archive"


@pytest.fixture
def s3(cli_env: dict[str, str]) -> Any:
    client = boto3.client("s3", endpoint_url=cli_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def seeded(db_url: str) -> Iterator[Seeded]:
    s = seed_store(db_url, datetime.now(UTC), old_swaps=600)
    yield s
    s.engine.dispose()


def _args(s: Seeded, *extra: str) -> list[str]:
    url = s.engine.url.render_as_string(hide_password=False)
    return ["prune", "--db", url, "--archive-to", f"s3://{BUCKET}/arch", *extra]


def test_killed_after_an_upload_then_rerun_archives_every_row_once(
    seeded: Seeded,
    s3: Any,
    cli_env: dict[str, str],
) -> None:
    env = {**cli_env, "EDGE_OPS_PRUNE_FAULT": "after_upload"}
    killed = edge_ops(*_args(seeded, "--batch-size", "50", "--json"), env=env)
    assert killed.returncode == -signal.SIGKILL
    # Nothing deleted yet, one object written: every row is in the database.
    for table, rows in seeded.rows.items():
        assert keys_in_db(seeded.engine, table) == set(rows)
    done = edge_ops(*_args(seeded, "--batch-size", "50", "--json"), env=cli_env)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] is True and out["recovered"].startswith(f"s3://{BUCKET}/arch/swaps/")
    counts = check_exactly_once(seeded, s3, BUCKET, "arch")
    assert counts["swaps"] == 600 and out["rows"] == sum(counts.values())


def test_killed_at_a_random_point_then_rerun_archives_every_row_once(
    seeded: Seeded,
    s3: Any,
    cli_env: dict[str, str],
) -> None:
    # Small batches, killed after the second: 118 batches to go, so the prune cannot finish
    # first however slowly this test gets to look (a loaded machine slows both alike).
    proc = subprocess.Popen(
        [str(EDGE_OPS), *_args(seeded, "--batch-size", "5", "--no-vacuum")],
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    total = len(seeded.rows["swaps"])

    def some_batches_deleted() -> bool:
        assert proc.poll() is None, "the prune finished before it could be killed"
        return len(keys_in_db(seeded.engine, "swaps")) <= total - 10

    eventually(some_batches_deleted, 60, "two batches deleted", every=0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    left = keys_in_db(seeded.engine, "swaps")
    assert seeded.stays["swaps"] <= left and len(left) < total
    done = edge_ops(*_args(seeded, "--json"), env=cli_env)
    assert done.returncode == 0, done.stderr
    check_exactly_once(seeded, s3, BUCKET, "arch")


def test_human_output_and_dry_run(
    seeded: Seeded,
    s3: Any,
    cli_env: dict[str, str],
) -> None:
    dry = edge_ops(*_args(seeded, "--dry-run"), env=cli_env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.startswith("would archive 618 rows older than")
    assert "swaps: 600 rows" in dry.stdout
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "0d"], "--older-than '0d': at least 1d"),
        (["--archive-to", "s3://edge-archive"], "names a whole bucket"),
        (["--archive-to", "/tmp/x"], "is not an S3 location"),
        (["--table", "candles"], "cannot prune candles"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    sqlite_url: str, cli_env: dict[str, str], args: list[str], message: str
) -> None:
    base = ["prune", "--db", sqlite_url, "--archive-to", f"s3://{BUCKET}/arch"]
    done = edge_ops(*base, *args, env=cli_env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("edge-ops: error: ") and message in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_unreachable_archive_is_a_failure_not_a_traceback(
    seeded: Seeded, cli_env: dict[str, str]
) -> None:
    url = seeded.engine.url.render_as_string(hide_password=False)
    done = edge_ops("prune", "--db", url, "--archive-to", "s3://missing-bucket/a", env=cli_env)
    assert done.returncode == 1
    assert "S3 refused the archive" in done.stderr and "Traceback" not in done.stderr
    for table, rows in seeded.rows.items():
        assert keys_in_db(seeded.engine, table) == set(rows)


def test_a_store_without_its_schema_says_to_migrate_and_exits_2(
    db_url: str, cli_env: dict[str, str]
) -> None:
    done = edge_ops("prune", "--db", db_url, "--archive-to", f"s3://{BUCKET}/arch", env=cli_env)
    assert done.returncode == 2, done.stderr
    assert "schema is missing" in done.stderr and "`edge-node db migrate" in done.stderr
    assert "Traceback" not in done.stderr
