"""The ``edge-node`` command line.

Exit codes: 0 success; 1 the node or a check failed (the message says why); 2 the command line
or the configuration is wrong (each bad field named).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NoReturn

import click

from edge_node import __version__, logs
from shared.config import ConfigError, NodeConfig, load_config

EXIT_FAILED = 1
EXIT_USAGE = 2


def _fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"edge-node: {message}", err=True)
    sys.exit(code)


def _load(path: str) -> NodeConfig:
    try:
        return load_config(path)
    except ConfigError as err:
        click.echo(f"edge-node: invalid config {err.source}:", err=True)
        for problem in err.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(EXIT_USAGE)


def _install_stop(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edge-node")
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def main(log_level: str, log_format: str) -> None:
    """The edge node of the trading bot: follows DEX pools on BSC/Ethereum."""
    logs.setup(log_level, log_format)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option(
    "--no-websocket",
    is_flag=True,
    help="Poll over HTTP (eth_blockNumber/eth_getLogs) instead of websocket subscriptions.",
)
def run(config_path: str, no_websocket: bool) -> None:
    """Run the node until SIGTERM/SIGINT."""
    from edge_node.service import EdgeNode, FatalError

    cfg = _load(config_path)

    async def _main() -> None:
        stop = asyncio.Event()
        _install_stop(stop)
        node = EdgeNode(cfg, websocket=False if no_websocket else None)
        await node.run(stop)

    try:
        asyncio.run(_main())
    except ConfigError as err:
        _fail(str(err), EXIT_USAGE)
    except FatalError as err:
        _fail(str(err))
    except Exception as err:
        from shared.db.engine import SchemaOutOfDate

        if isinstance(err, SchemaOutOfDate):
            _fail(str(err))
        raise


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
def demo(
    duration: float | None,
    summary_json: str | None,
    data_dir: str,
    rate: float,
    block_time: float,
    api_port: int,
    no_websocket: bool,
    seed: int | None,
) -> None:
    """Run everything on a local anvil chain with SQLite, and show what the node sees."""
    from edge_node.demo import DemoOptions, run_demo

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
    )
    sys.exit(run_demo(opts))


def _api_get(cfg: NodeConfig, path: str, auth: bool = True) -> tuple[int, Any]:
    host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
    req = urllib.request.Request(f"http://{host}:{cfg.api.port}{path}")
    token = cfg.api_token()
    if auth and token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        body = err.read()
        try:
            return err.code, json.loads(body)
        except ValueError:
            return err.code, {"error": body.decode(errors="replace")}


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def status(config_path: str, as_json: bool) -> None:
    """Show the running node's status (from its API, or from the store if it does not answer)."""
    cfg = _load(config_path)
    try:
        code, body = _api_get(cfg, "/health")
    except OSError as err:
        click.echo(f"node API at {cfg.api.host}:{cfg.api.port} does not answer ({err}).")
        _store_status(cfg)
        sys.exit(EXIT_FAILED)
    if code == 401:
        _fail("the API refused the token (api.token / EDGE_API_TOKEN)")
    if as_json:
        click.echo(json.dumps(body, indent=2))
    else:
        _print_status(body)
    sys.exit(0 if body.get("status") == "ok" else EXIT_FAILED)


def _print_status(body: dict[str, Any]) -> None:
    chain, store = body.get("chain", {}), body.get("store", {})
    click.echo(f"status:      {body.get('status')}  {'; '.join(body.get('reasons', []))}")
    click.echo(f"mode:        {body.get('mode')}, up {body.get('uptime_seconds')}s")
    click.echo(
        f"chain:       {chain.get('name')} (id {chain.get('chain_id')}), "
        f"processed {chain.get('last_processed_block')} "
        f"({chain.get('last_block_age_seconds')}s old), head {chain.get('chain_head')}, "
        f"lag {chain.get('head_lag_blocks')}, reorgs {chain.get('reorgs')}"
    )
    click.echo(
        f"store:       {store.get('url')}, committed {store.get('committed_block')}, "
        f"queue {store.get('queue')}, errors {store.get('db_errors')}"
    )
    for ep in body.get("endpoints", []):
        mark = "*" if ep.get("active") else " "
        click.echo(
            f"endpoint {mark}  {ep['name']}: up={ep.get('up')} head={ep.get('head')} "
            f"lag={ep.get('head_lag_blocks')} failures={ep.get('failures')}"
            + (f" last error: {ep['last_error']}" if ep.get("last_error") else "")
        )


def _store_status(cfg: NodeConfig) -> None:
    from edge_node.service import checkpoint_name
    from edge_node.store import reader
    from shared.db.engine import create_engine, redact_url

    engine = create_engine(cfg.store.url)
    try:
        cp = reader.checkpoint(engine, checkpoint_name(cfg.chain.chain_id))
    except Exception as err:
        click.echo(f"store {redact_url(cfg.store.url)} not readable either: {err}")
        return
    finally:
        engine.dispose()
    if cp is None:
        click.echo(f"store {redact_url(cfg.store.url)}: no checkpoint yet")
    else:
        click.echo(
            f"store {redact_url(cfg.store.url)}: last committed block {cp.block_number} "
            f"({cp.block_hash[:12]}…), written {cp.updated_at}"
        )


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Base URL of the node's API, e.g. http://127.0.0.1:8080")
def health(config_path: str | None, url: str | None) -> None:
    """Exit 0 if the node reports healthy on /healthz, 1 if not or if it does not answer."""
    if url is None:
        if config_path is None:
            _fail("give --config or --url", EXIT_USAGE)
        cfg = _load(config_path)
        host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
        url = f"http://{host}:{cfg.api.port}"
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/healthz", timeout=5) as resp:  # noqa: S310
            body = json.loads(resp.read())
            code = resp.status
    except urllib.error.HTTPError as err:
        code, body = err.code, {"status": "not ok"}
    except OSError as err:
        _fail(f"node at {url} does not answer: {err}")
    click.echo(body.get("status", "unknown"))
    sys.exit(0 if code == 200 else EXIT_FAILED)


@main.group()
def config() -> None:
    """Configuration files."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def config_validate(file: str) -> None:
    """Check a config file; prints each bad field and exits 2 if there is any."""
    cfg = _load(file)
    click.echo(
        f"{file}: ok (chain {cfg.chain.name} id {cfg.chain.chain_id}, "
        f"{len(cfg.endpoints)} endpoints, {len(cfg.pools)} pools)"
    )


@main.group()
def db() -> None:
    """The database."""


@db.command("migrate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Database URL (instead of the config's store.url).")
def db_migrate(config_path: str | None, url: str | None) -> None:
    """Bring the database schema to the version this code needs."""
    from shared.db.engine import create_engine, migrate, redact_url

    if url is None:
        if config_path is None:
            _fail("give --config or --url", EXIT_USAGE)
        url = _load(config_path).store.url
    engine = create_engine(url)
    try:
        before, after = migrate(engine)
    except Exception as err:
        _fail(f"migration of {redact_url(url)} failed: {err}")
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{redact_url(url)}: schema already at {after}")
    else:
        click.echo(f"{redact_url(url)}: schema migrated from {before or 'nothing'} to {after}")


@db.command("downgrade")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Database URL (instead of the config's store.url).")
@click.option("--to", "revision", required=True, help='Target revision, or "base" for none.')
@click.confirmation_option(prompt="Downgrading can drop tables and data. Continue?")
def db_downgrade(config_path: str | None, url: str | None, revision: str) -> None:
    """Take the schema back to an earlier revision (for a code rollback)."""
    from shared.db.engine import create_engine, downgrade, redact_url

    if url is None:
        if config_path is None:
            _fail("give --config or --url", EXIT_USAGE)
        url = _load(config_path).store.url
    engine = create_engine(url)
    try:
        before, after = downgrade(engine, revision)
    except Exception as err:
        _fail(f"downgrade of {redact_url(url)} failed: {err}")
    finally:
        engine.dispose()
    click.echo(f"{redact_url(url)}: schema downgraded from {before} to {after or 'nothing'}")


if __name__ == "__main__":  # pragma: no cover
    main()
