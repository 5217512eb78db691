"""``edge-node config validate``, ``db migrate`` and ``db downgrade``: files and schema."""

from __future__ import annotations

import click

from edge_node.cli.app import EXIT_USAGE, fail, load, main


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


def _url(config_path: str | None, url: str | None) -> str:
    if url is not None:
        return url
    if config_path is None:
        fail("give --config or --url", EXIT_USAGE)
    return load(config_path).store.url


@db.command("migrate")
@click.option("--config", "config_path", type=click.Path(dir_okay=False))
@click.option("--url", help="Database URL (instead of the config's store.url).")
def db_migrate(config_path: str | None, url: str | None) -> None:
    """Bring the database schema to the version this code needs."""
    from shared.db.engine import create_engine, migrate, redact_url

    url = _url(config_path, url)
    engine = create_engine(url)
    try:
        before, after = migrate(engine)
    except Exception as err:
        fail(f"migration of {redact_url(url)} failed: {err}")
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

    url = _url(config_path, url)
    engine = create_engine(url)
    try:
        before, after = downgrade(engine, revision)
    except Exception as err:
        fail(f"downgrade of {redact_url(url)} failed: {err}")
    finally:
        engine.dispose()
    click.echo(f"{redact_url(url)}: schema downgraded from {before} to {after or 'nothing'}")
