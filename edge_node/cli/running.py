"""``edge-node run`` (the node itself) and ``edge-node demo`` (everything on a local chain)."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from edge_node import logs
from edge_node.cli.app import EXIT_USAGE, fail, load, main
from shared.config import ConfigError

if TYPE_CHECKING:
    from edge_node.service import EdgeNode


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--no-websocket",
    is_flag=True,
    help="Poll over HTTP (eth_blockNumber/eth_getLogs) instead of websocket subscriptions.",
)
@click.option(
    "--live",
    is_flag=True,
    help="Sign and send real transactions. Without it the node trades on paper (simulated).",
)
def run(config_path: str, no_websocket: bool, live: bool) -> None:
    """Run the node until SIGTERM/SIGINT (SIGHUP reloads the strategy parameters)."""
    from edge_node.service import EdgeNode, FatalError

    cfg = load(config_path)
    if cfg.execution is not None and cfg.execution.mode == "live" and not live:
        click.echo("edge-node: execution.mode is live, but --live was not given: paper trading")

    async def _main() -> None:
        stop = asyncio.Event()
        _install_stop(stop)
        node = EdgeNode(
            cfg,
            websocket=False if no_websocket else None,
            live=live,
            config_path=Path(config_path),
        )
        if node.desk is not None:
            reloads: set[asyncio.Task[None]] = set()

            def on_sighup() -> None:
                task = asyncio.create_task(reload_on_signal(node))
                reloads.add(task)  # held until done: the loop keeps only weak references
                task.add_done_callback(reloads.discard)

            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, on_sighup)
        await node.run(stop)

    from edge_node.execution.keys import KeyUnavailable

    try:
        asyncio.run(_main())
    except ConfigError as err:
        fail(str(err), EXIT_USAGE)
    except KeyUnavailable as err:
        fail(f"no signing key for --live: {err}", EXIT_USAGE)
    except FatalError as err:
        fail(str(err))
    except Exception as err:
        from shared.db.engine import SchemaOutOfDate

        if isinstance(err, SchemaOutOfDate):
            fail(str(err))
        raise


async def reload_on_signal(node: EdgeNode) -> None:
    """SIGHUP: the same reload as ``POST /admin/reload-strategy`` (``EdgeNode.reload_strategy``)."""
    try:
        result = await node.reload_strategy()
        click.echo(
            f"edge-node: strategy reloaded; restart needed for {result['restart_needed_for']}"
        )
    except ConfigError as err:
        click.echo(f"edge-node: config not reloaded: {'; '.join(err.problems)}", err=True)


@main.command()
@click.option("--duration", type=float, default=None, help="Seconds to run; default: until Ctrl-C.")
@click.option("--summary-json", type=click.Path(dir_okay=False), default=None)
@click.option(
    "--data-dir", type=click.Path(file_okay=False), default="data/demo", show_default=True
)
@click.option("--rate", type=float, default=20.0, show_default=True, help="Swaps per second.")
@click.option("--block-time", type=float, default=1.0, show_default=True)
@click.option("--api-port", type=int, default=8080, show_default=True, help="0 picks a free port.")
@click.option("--no-websocket", is_flag=True)
@click.option("--seed", type=int, default=None, help="Seed the traffic for a reproducible run.")
@click.option("--live", is_flag=True, help="Trade for real on the local chain (default: paper).")
def demo(
    duration: float | None,
    summary_json: str | None,
    data_dir: str,
    rate: float,
    block_time: float,
    api_port: int,
    no_websocket: bool,
    seed: int | None,
    live: bool,
) -> None:
    """Run everything on a local anvil chain with SQLite, and show what the node sees and does.

    It deploys pools (two of them the same pair with different fees), an arbitrage executor,
    drives swaps at the pools, and runs the node, which trades the price gaps: on paper by
    default, for real on the local chain with --live.
    """
    from edge_node.demo_run import DemoOptions, run_demo

    ctx = click.get_current_context()
    parent = ctx.parent
    if parent is not None and parent.get_parameter_source("log_level") in (
        click.core.ParameterSource.DEFAULT,
        None,
    ):
        logs.setup("warning")  # keep the live display readable unless asked otherwise

    opts = DemoOptions(
        duration=duration,
        summary_json=Path(summary_json) if summary_json else None,
        data_dir=Path(data_dir),
        rate=rate,
        block_time=block_time,
        api_port=api_port,
        websocket=not no_websocket,
        seed=seed,
        live=live,
    )
    sys.exit(run_demo(opts))
