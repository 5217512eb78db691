"""``edge-node config validate``, ``db migrate`` and ``db downgrade``: files and schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from edge_node.cli.app import EXIT_USAGE, fail, load, main

if TYPE_CHECKING:
    from sqlalchemy import Engine


@main.group()
def config() -> None:
    """Configuration files."""


@config.command("validate")
@click.argument("file", type=click.Path(dir_okay=False))
def config_validate(file: str) -> None:
    """Check a config file; prints each bad field and exits 2 if there is any."""
    cfg = load(file)
    click.echo(
        f"{file}: ok (chain {cfg.chain.name} id {cfg.chain.chain_id}, "
        f"{len(cfg.endpoints)} endpoints, {len(cfg.pools)} pools)"
    )


@main.group()
def db() -> None:
    """The database."""


def _store(config_path: str | None, url: str | None) -> tuple[Engine, str]:
    """The store to work on and how to name it: ``--url``, or the config's store as the node
    opens it (``store.secret_id`` when set, credentials read from Secrets Manager; else
    ``store.url``)."""
    from edge_node.node_secrets import NodeSecrets, store_shown
    from shared.config import ConfigError
    from shared.db.engine import create_engine, redact_url

    if url is not None:
        return create_engine(url), redact_url(url)
    if config_path is None:
        fail("give --config or --url", EXIT_USAGE)
    cfg = load(config_path)
    try:
        engine = NodeSecrets(cfg).store_engine()
    except ConfigError as err:
        fail(f"{config_path}: {'; '.join(err.problems)}", EXIT_USAGE)
    return engine, store_shown(cfg, engine)


@db.command("migrate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Database URL (instead of the config's store.url).")
def db_migrate(config_path: str | None, url: str | None) -> None:
    """Bring the database schema to the version this code needs."""
    from shared.db.engine import migrate

    engine, shown = _store(config_path, url)
    try:
        before, after = migrate(engine)
    except Exception as err:
        fail(f"migration of {shown} failed: {err}")
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"{shown}: schema already at {after}")
    else:
        click.echo(f"{shown}: schema migrated from {before or 'nothing'} to {after}")


@db.command("downgrade")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Database URL (instead of the config's store.url).")
@click.option("--to", "revision", required=True, help='Target revision, or "base" for none.')
@click.confirmation_option(prompt="Downgrading can drop tables and data. Continue?")
def db_downgrade(config_path: str | None, url: str | None, revision: str) -> None:
    """Take the schema back to an earlier revision (for a code rollback)."""
    from shared.db.engine import downgrade

    engine, shown = _store(config_path, url)
    try:
        before, after = downgrade(engine, revision)
    except Exception as err:
        fail(f"downgrade of {shown} failed: {err}")
    finally:
        engine.dispose()
    click.echo(f"{shown}: schema downgraded from {before} to {after or 'nothing'}")
