"""The ``edge-node`` command line.

Exit codes: 0 success; 1 the node or a check failed (the message says why); 2 the command line
or the configuration is wrong (each bad field named).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
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
@click.option(
    "--live",
    is_flag=True,
    help="Sign and send real transactions. Without it the node trades on paper (simulated).",
)
def run(config_path: str, no_websocket: bool, live: bool) -> None:
    """Run the node until SIGTERM/SIGINT (SIGHUP reloads the strategy parameters)."""
    from edge_node.service import EdgeNode, FatalError

    cfg = _load(config_path)
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
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, _reload, node)
        await node.run(stop)

    from edge_node.execution.keys import KeyUnavailable

    try:
        asyncio.run(_main())
    except ConfigError as err:
        _fail(str(err), EXIT_USAGE)
    except KeyUnavailable as err:
        _fail(f"no signing key for --live: {err}", EXIT_USAGE)
    except FatalError as err:
        _fail(str(err))
    except Exception as err:
        from shared.db.engine import SchemaOutOfDate

        if isinstance(err, SchemaOutOfDate):
            _fail(str(err))
        raise


def _reload(node: Any) -> None:
    from shared.config import ConfigError

    try:
        result = node.desk.reload()
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
        live=live,
    )
    sys.exit(run_demo(opts))


def _api_get(cfg: NodeConfig, path: str, auth: bool = True) -> tuple[int, Any]:
    return _api(cfg, "GET", path, None, auth)


def _api(
    cfg: NodeConfig, method: str, path: str, body: Any = None, auth: bool = True
) -> tuple[int, Any]:
    host = "127.0.0.1" if cfg.api.host in ("0.0.0.0", "::") else cfg.api.host  # noqa: S104
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{host}:{cfg.api.port}{path}", data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
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
    except (OSError, http.client.HTTPException, ValueError) as err:
        # Refused, timed out, or something that is not the node's API answering on its port:
        # the callers fall back to the flags (an emergency stop must not crash here).
        raise ApiUnreachable(f"{type(err).__name__}: {err}") from None


class ApiUnreachable(OSError):
    """The node's API did not answer as the node's API."""


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


def _flags_engine(cfg: NodeConfig) -> Any:
    from shared.db.engine import create_engine

    return create_engine(cfg.store.url)


def _write_flags(
    cfg: NodeConfig, keys: tuple[str, ...], value: bool, actor: str, reason: str
) -> None:
    """Set the control flags in the store, creating its schema if no node ever ran on it (so
    that a node started later starts stopped)."""
    from shared import control_flags
    from shared.db.engine import current_revision, migrate

    engine = _flags_engine(cfg)
    try:
        if current_revision(engine) is None:
            migrate(engine)
        for key in keys:
            control_flags.write_db_flag(engine, key, value, actor, reason)
    finally:
        engine.dispose()


def _set_remote_flag(cfg: NodeConfig, value: bool) -> str:
    if not cfg.control.ssm_parameter:
        return "no remote flag configured"
    import boto3

    from shared import control_flags

    client = boto3.client("ssm", region_name=cfg.control.aws_region)
    control_flags.write_ssm_flag(client, cfg.control.ssm_parameter, value)
    return f"remote flag {cfg.control.ssm_parameter} {'set' if value else 'cleared'}"


def _admin(cfg: NodeConfig, action: str, reason: str) -> bool:
    """Ask the running node to ``action``; False if its API does not answer (fall back to the
    flags). An answer other than success ends the command with the node's error."""
    try:
        code, body = _api(cfg, "POST", f"/admin/{action}", {"reason": reason})
    except OSError:
        return False
    if code != 200:
        _fail(f"API answered {code}: {body.get('error', body)}")
    click.echo(f"ok: trading {body['state']}")
    return True


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'operator')}"


@main.command("emergency-stop")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--reason", required=True, help="Why: kept in the audit log.")
def emergency_stop(config_path: str, reason: str) -> None:
    """Stop trading at once and cancel pending transactions (works with the node's API down).

    Tells the running node through its API, and in any case sets the database flag and the
    remote (SSM) flag, which the node polls and which keep it stopped across restarts.
    """
    from shared import control_flags

    cfg = _load(config_path)
    actor = _actor()
    done, failed = [], []
    try:
        code, body = _api(cfg, "POST", "/admin/emergency-stop", {"reason": reason})
        if code == 200:
            done.append(f"node stopped (halted in {body.get('halted_in_ms')} ms)")
        else:
            failed.append(f"API answered {code}: {body.get('error', body)}")
    except OSError as err:
        failed.append(f"API does not answer ({err}); relying on the flags")
    try:
        _write_flags(cfg, (control_flags.EMERGENCY_STOP,), True, actor, reason)
        done.append("database flag set")
    except Exception as err:
        failed.append(f"database flag not set: {err}")
    try:
        done.append(_set_remote_flag(cfg, True))
    except Exception as err:
        failed.append(f"remote flag not set: {err}")
    for line in done:
        click.echo(f"ok: {line}")
    for line in failed:
        click.echo(f"warning: {line}", err=True)
    stopped = any(
        line.startswith(("node stopped", "database flag set", "remote flag")) for line in done
    )
    sys.exit(0 if stopped else EXIT_FAILED)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--reason", default="paused by operator")
def pause(config_path: str, reason: str) -> None:
    """Stop taking new trades (pending transactions carry on)."""
    from shared import control_flags

    cfg = _load(config_path)
    if _admin(cfg, "pause", reason):
        return
    _write_flags(cfg, (control_flags.TRADING_PAUSED,), True, _actor(), reason)
    click.echo("node API does not answer: pause flag set; the node stays or starts paused")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--reason", default="resumed by operator")
def resume(config_path: str, reason: str) -> None:
    """Resume trading after a pause or an emergency stop (clears the stop flags)."""
    from shared import control_flags

    cfg = _load(config_path)
    if _admin(cfg, "resume", reason):
        return
    keys = (control_flags.EMERGENCY_STOP, control_flags.TRADING_PAUSED)
    _write_flags(cfg, keys, False, _actor(), reason)
    click.echo(f"node API does not answer: flags cleared ({_set_remote_flag(cfg, False)})")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def trades(config_path: str, limit: int, as_json: bool) -> None:
    """The most recent trades (from the node, or from the store if it does not answer)."""
    from shared.reports import queries as journal

    cfg = _load(config_path)
    try:
        code, body = _api_get(cfg, f"/api/v1/trades?limit={limit}")
        rows = body["trades"] if code == 200 else None
    except OSError:
        rows = None
    if rows is None:
        engine = _flags_engine(cfg)
        rows = journal.trades(engine, cfg.chain.chain_id, limit)
        engine.dispose()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for t in rows:
        click.echo(
            f"{t['id']:>6} {t['created_at'][:19]} {t['mode']:5} {t['status']:17} "
            f"in {t['amount_in']} profit {t['profit']} gas {t['gas_cost']} {t['tx_hash'] or ''}"
        )


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
def reload(config_path: str) -> None:
    """Reload the strategy and risk parameters of the running node from its config file."""
    cfg = _load(config_path)
    try:
        code, body = _api(cfg, "POST", "/admin/reload-strategy", {})
    except OSError as err:
        _fail(f"node API does not answer: {err}")
    if code != 200:
        _fail(f"not reloaded: {'; '.join(body.get('problems', [])) or body.get('error')}")
    click.echo(f"ok: reloaded; restart needed for {body['restart_needed_for'] or 'nothing'}")


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
