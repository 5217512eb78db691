"""``edge-node status``, ``health`` and ``trades``: what the node sees (from its API or store)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from edge_node.cli.app import EXIT_FAILED, EXIT_USAGE, fail, load, main
from edge_node.cli.node_api import api_get, healthz, local_base_url
from shared.config import NodeConfig


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON.")
def status(config_path: str, as_json: bool) -> None:
    """Show the running node's status (from its API, or from the store if it does not answer)."""
    cfg = load(config_path)
    try:
        code, body = api_get(cfg, "/health")
    except OSError as err:
        click.echo(f"node API at {cfg.api.host}:{cfg.api.port} does not answer ({err}).")
        _store_status(cfg)
        sys.exit(EXIT_FAILED)
    if code == 401:
        fail("the API refused the token (api.token / EDGE_API_TOKEN)")
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
    from edge_node.node_secrets import NodeSecrets, store_shown
    from edge_node.startup import checkpoint_name
    from edge_node.store import reader

    engine = NodeSecrets(cfg).store_engine()
    shown = store_shown(cfg, engine)
    try:
        cp = reader.checkpoint(engine, checkpoint_name(cfg.chain.chain_id))
    except Exception as err:
        click.echo(f"store {shown} not readable either: {err}")
        return
    finally:
        engine.dispose()
    if cp is None:
        click.echo(f"store {shown}: no checkpoint yet")
    else:
        click.echo(
            f"store {shown}: last committed block {cp.block_number} "
            f"({cp.block_hash[:12]}…), written {cp.updated_at}"
        )


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Base URL of the node's API, e.g. http://127.0.0.1:8080")
def health(config_path: str | None, url: str | None) -> None:
    """Exit 0 if the node reports healthy on /healthz, 1 if not or if it does not answer."""
    if url is None:
        if config_path is None:
            fail("give --config or --url", EXIT_USAGE)
        url = local_base_url(load(config_path))
    try:
        code, body = healthz(url)
    except OSError as err:
        fail(f"node at {url} does not answer: {err}")
    click.echo(body.get("status", "unknown"))
    sys.exit(0 if code == 200 else EXIT_FAILED)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def trades(config_path: str, limit: int, as_json: bool) -> None:
    """The most recent trades (from the node, or from the store if it does not answer)."""
    from edge_node.node_secrets import NodeSecrets
    from shared.reports import queries as journal

    cfg = load(config_path)
    try:
        code, body = api_get(cfg, f"/api/v1/trades?limit={limit}")
        rows = body["trades"] if code == 200 else None
    except OSError:
        rows = None
    if rows is None:
        engine = NodeSecrets(cfg).store_engine()
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
