"""The top-level ``edge-node`` group and what every command shares: exit codes, config loading."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from edge_node import __version__, logs
from shared.config import ConfigError, NodeConfig, load_config

EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    click.echo(f"edge-node: {message}", err=True)
    sys.exit(code)


def load(path: str) -> NodeConfig:
    """The config at ``path``, or exit 2 naming each bad field."""
    try:
        return load_config(path)
    except ConfigError as err:
        click.echo(f"edge-node: invalid config {err.source}:", err=True)
        for problem in err.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(EXIT_USAGE)


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
