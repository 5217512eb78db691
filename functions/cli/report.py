"""``edge-ops report daily|weekly|monthly``: the trading report of a period, from the journal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from functions.cli.output import emit, json_option


@click.command()
@click.argument("period", type=click.Choice(["daily", "weekly", "monthly"]))
@click.option("--db", "db_url", help="Store URL (default: EDGE_OPS_DATABASE_URL / DATABASE_URL).")
@click.option(
    "--date",
    "day",
    metavar="YYYY-MM-DD",
    help="Any day in the period (default: the last complete one, UTC).",
)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Write files here.")
@click.option("--to", "to", metavar="s3://BUCKET/PREFIX", help="Write the files to S3.")
@click.option("--chain-id", type=int, help="Chain of the trades (needed if several are stored).")
@click.option("--capital-token", help="Capital token symbol (default: the wrapped native one).")
@click.option("--quote", help="Quote currency symbol for priced figures (default: from pools).")
@click.option(
    "--starting-capital",
    help="Capital at the start, in token units, for the hold comparison (e.g. 10).",
)
@click.option("--no-charts", is_flag=True, help="Skip the PNG charts.")
@json_option
def report(
    period: str,
    db_url: str | None,
    day: str | None,
    out_dir: str | None,
    to: str | None,
    chain_id: int | None,
    capital_token: str | None,
    quote: str | None,
    starting_capital: str | None,
    no_charts: bool,
    as_json: bool,
) -> None:
    """Totals and per pool pair, paper and live apart: attempts, outcomes, success rate, profit,
    gas, net, win rate, profit factor, expectancy, drawdown, latency, the manuals' targets.
    Without --out or --to the Markdown (or with --json the JSON) is printed."""
    from functions.common.errors import BadInput
    from functions.common.settings import load_settings
    from functions.common.store import Store
    from functions.report import build, publish, render

    if out_dir and to:
        raise BadInput("give --out or --to, not both")
    dest = None
    if to:
        from functions.common.s3url import S3Location

        dest = S3Location.parse(to)
    now = datetime.now(UTC)
    p = build.period_for(period, day, now)
    settings = load_settings()
    store = Store.from_url(db_url) if db_url else Store.from_settings(settings, None)
    try:
        result = store.run(
            lambda engine: build.build(
                engine,
                p,
                chain_id=chain_id,
                capital_symbol=capital_token,
                quote=quote,
                starting_capital=starting_capital,
                now=now,
            )
        )
    finally:
        store.dispose()
    if dest is not None:
        from functions.common.aws import AwsClients, AwsOptions

        aws = AwsClients(AwsOptions.from_settings(settings))
        written = publish.to_s3(result, aws.s3, dest, with_charts=not no_charts)
    elif out_dir:
        written = publish.to_dir(result, Path(out_dir), with_charts=not no_charts)
    else:
        emit(result, as_json, lambda: render.markdown(result))
        return
    summary: dict[str, Any] = {"ok": True, "period": result["period"], "written": written}
    emit(summary, as_json, lambda: "\n".join(["wrote:", *written]))
