"""``edge-node emergency-stop``, ``pause``, ``resume``, ``reload``: what the node may do.

Each asks the running node through its API first; the stop commands also work with the API
down, through the database and remote (SSM) flags the node polls and reads at start.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from edge_node.cli.app import EXIT_FAILED, fail, load, main
from edge_node.cli.node_api import api_call, node_api
from shared.config import NodeConfig


def _write_flags(
    cfg: NodeConfig, keys: tuple[str, ...], value: bool, actor: str, reason: str
) -> None:
    """Set the control flags in the store, creating its schema if no node ever ran on it (so
    that a node started later starts stopped)."""
    from edge_node.node_secrets import NodeSecrets
    from shared import control_flags
    from shared.db.engine import current_revision, migrate

    engine = NodeSecrets(cfg).store_engine()
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
    from shared import control_flags

    client = control_flags.ssm_client(cfg.control.aws_region)  # bounded: a stop must not hang
    control_flags.write_ssm_flag(client, cfg.control.ssm_parameter, value)
    return f"remote flag {cfg.control.ssm_parameter} {'set' if value else 'cleared'}"


def _admin(cfg: NodeConfig, action: str, reason: str) -> bool:
    """Ask the running node to ``action``; False if its API does not answer (fall back to the
    flags). An answer other than success ends the command with the node's error."""
    try:
        code, body = api_call(cfg, "POST", f"/admin/{action}", {"reason": reason})
    except OSError:
        return False
    if code != 200:
        fail(f"API answered {code}: {body.get('error', body)}")
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
    from shared import control_flags, remote_control

    cfg = load(config_path)
    ssm = (
        control_flags.ssm_client(cfg.control.aws_region)  # bounded: a stop must not hang
        if cfg.control.ssm_parameter
        else None
    )

    def write_db(key: str, value: bool, actor: str, why: str) -> None:
        _write_flags(cfg, (key,), value, actor, why)

    surfaces = remote_control.Surfaces(
        api=node_api(cfg),
        write_db_flag=write_db,
        ssm=ssm,
        ssm_parameter=cfg.control.ssm_parameter,
    )
    results = remote_control.emergency_stop(surfaces, _actor(), reason)
    for r in results:
        if r.ok or r.detail == "no remote flag configured":
            click.echo(f"ok: {r.detail}")
    for r in results:
        if not r.ok and r.detail != "no remote flag configured":
            extra = "; relying on the flags" if r.surface == remote_control.API else ""
            click.echo(f"warning: {r.detail}{extra}", err=True)
    sys.exit(0 if remote_control.took_effect(results) else EXIT_FAILED)


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
@click.option("--reason", default="paused by operator")
def pause(config_path: str, reason: str) -> None:
    """Stop taking new trades (pending transactions carry on)."""
    from shared import control_flags

    cfg = load(config_path)
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

    cfg = load(config_path)
    if _admin(cfg, "resume", reason):
        return
    keys = (control_flags.EMERGENCY_STOP, control_flags.TRADING_PAUSED)
    _write_flags(cfg, keys, False, _actor(), reason)
    click.echo(f"node API does not answer: flags cleared ({_set_remote_flag(cfg, False)})")


@main.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False))
def reload(config_path: str) -> None:
    """Reload the strategy and risk parameters of the running node from its config file."""
    cfg = load(config_path)
    try:
        code, body = api_call(cfg, "POST", "/admin/reload-strategy", {})
    except OSError as err:
        fail(f"node API does not answer: {err}")
    answer: dict[str, Any] = body
    if code != 200:
        fail(f"not reloaded: {'; '.join(answer.get('problems', [])) or answer.get('error')}")
    click.echo(f"ok: reloaded; restart needed for {answer['restart_needed_for'] or 'nothing'}")
