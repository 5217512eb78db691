"""``edge-ops prune``: archive old rows to S3 as Parquet, verify, delete, VACUUM ANALYZE."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from functions.cli.output import emit, json_option, progress


@click.command()
@click.option("--db", "db_url", help="Store URL (default: EDGE_OPS_DATABASE_URL / DATABASE_URL).")
@click.option(
    "--archive-to", required=True, metavar="s3://BUCKET/PREFIX", help="Where the Parquet goes."
)
@click.option(
    "--older-than", default="90d", show_default=True, help="Age horizon: Nd, Nw or Nh (>= 1d)."
)
@click.option(
    "--batch-size", type=int, default=5000, show_default=True, help="Rows per archive object."
)
@click.option(
    "--table",
    "tables",
    multiple=True,
    help="Only these tables (swaps, blocks, audit_log, trades, tx_journal); repeatable.",
)
@click.option("--dry-run", is_flag=True, help="Count what would go; change nothing.")
@click.option("--no-vacuum", is_flag=True, help="Skip VACUUM ANALYZE after deleting.")
@json_option
def prune(
    db_url: str | None,
    archive_to: str,
    older_than: str,
    batch_size: int,
    tables: tuple[str, ...],
    dry_run: bool,
    no_vacuum: bool,
    as_json: bool,
) -> None:
    """Archive rows older than the horizon (swaps, blocks, audit log, settled trades and
    their journal) to S3 as Parquet partitioned by day, read each object back and check it,
    and only then delete the rows, in short batches. Candles, pending trades, the checkpoint
    and the reorg window are never touched. Killed halfway, run it again: nothing is lost or
    archived twice."""
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.s3url import S3Location
    from functions.common.settings import load_settings
    from functions.common.store import Store
    from functions.prune import service

    dest = S3Location.parse(archive_to, require_prefix=True)
    age = service.parse_age(older_than)
    settings = load_settings()
    aws = AwsClients(AwsOptions.from_settings(settings))
    store = Store.from_url(db_url) if db_url else Store.from_settings(settings, None)
    try:
        with progress("archiving") as bar:

            def advance(_table: str, _rows: int) -> None:
                bar.advance()

            result = service.run(
                store,
                aws.s3,
                dest,
                now=datetime.now(UTC),
                older_than=age,
                batch_size=batch_size,
                tables=list(tables) or None,
                dry_run=dry_run,
                vacuum=not no_vacuum,
                progress=advance,
            )
    finally:
        store.dispose()
    emit({"ok": True, **result}, as_json, lambda: _human(result))


def _human(r: dict[str, Any]) -> str:
    verb = "would archive" if r["dry_run"] else "archived and deleted"
    lines = [f"{verb} {r['rows']} rows older than {r['horizon']} to {r['archive']}"]
    for name, t in r["tables"].items():
        lines.append(f"  {name}: {t['rows']} rows in {t['objects']} objects ({t['bytes']} bytes)")
    if r["recovered"]:
        lines.append(f"removed the unconfirmed object of an interrupted run: {r['recovered']}")
    lines.append(
        f"database size: {r['database_size_mb']} MB"
        + (" (after VACUUM ANALYZE)" if r["vacuumed"] else "")
    )
    return "\n".join(lines)
