"""``edge-ops report`` in a subprocess: printed, to a directory, to S3 on a moto server."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from shared.db.engine import create_engine, migrate
from tests.functions.cli_runner import edge_ops
from tests.support.journal_builder import build_reference_day


@pytest.fixture
def db(db_url: str) -> str:
    engine = create_engine(db_url)
    migrate(engine)
    build_reference_day(engine)
    engine.dispose()
    return db_url


def test_json_report_matches_the_hand_calculation(db: str, cli_env: dict[str, str]) -> None:
    done = edge_ops("report", "daily", "--db", db, "--date", "2024-03-10", "--json", env=cli_env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    live, paper = report["modes"]["live"]["totals"], report["modes"]["paper"]["totals"]
    assert (live["attempts"], live["refused"], live["gas"], live["max_drawdown"]) == (
        6,
        2,
        "0.00392",
        "0.00092",
    )
    assert (paper["attempts"], paper["net"]) == (3, "0.005")
    md = edge_ops("report", "daily", "--db", db, "--date", "2024-03-10", env=cli_env)
    assert md.returncode == 0 and md.stdout.startswith("# Daily trading report 2024-03-10")


def test_files_to_a_directory_and_to_s3(db: str, cli_env: dict[str, str], tmp_path: Path) -> None:
    done = edge_ops(
        "report", "weekly", "--db", db, "--date", "2024-03-10", "--out", str(tmp_path), env=cli_env
    )
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "weekly" / "2024-W10"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "live_activity.png",
        "live_cumulative_net.png",
        "paper_activity.png",
        "paper_cumulative_net.png",
        "report.json",
        "report.md",
    ]
    s3 = boto3.client("s3", endpoint_url=cli_env["AWS_ENDPOINT_URL"], region_name="us-east-1")
    s3.create_bucket(Bucket="reports")
    up = edge_ops(
        "report",
        "monthly",
        "--db",
        db,
        "--date",
        "2024-03-01",
        "--to",
        "s3://reports/edge",
        "--no-charts",
        "--json",
        env=cli_env,
    )
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["written"] == [
        "s3://reports/edge/monthly/2024-03/report.md",
        "s3://reports/edge/monthly/2024-03/report.json",
    ]
    body = s3.get_object(Bucket="reports", Key="edge/monthly/2024-03/report.json")["Body"]
    assert json.loads(body.read())["modes"]["live"]["totals"]["attempts"] == 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "10/03/2024"], "is not a date"),
        (["--to", "s3://x"], "not a valid S3 bucket name"),
        (["--quote", "EUR"], "no pool of chain 56 trades WBNB against EUR"),
        (["--starting-capital", "-3"], "must be above zero"),
        (["--capital-token", "DOGE"], "trades DOGE"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    db: str, cli_env: dict[str, str], args: list[str], message: str
) -> None:
    done = edge_ops("report", "daily", "--db", db, *args, env=cli_env)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and done.stderr.count("\n") == 1


def test_a_store_without_its_schema_says_to_migrate_and_exits_2(
    db_url: str, cli_env: dict[str, str]
) -> None:
    done = edge_ops("report", "daily", "--db", db_url, env=cli_env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("edge-ops: error: the store's schema is missing")
    assert "no table 'trades'" in done.stderr and "`edge-node db migrate" in done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    as_json = edge_ops("report", "daily", "--db", db_url, "--json", env=cli_env)
    assert as_json.returncode == 2
    assert json.loads(as_json.stdout)["error"]["kind"] == "schema_missing"
