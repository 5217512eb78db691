"""The persisted stop and pause flags, shared by the node, the CLI and the runbook functions.

Two places hold them, so that an operator can stop the bot from anywhere:
- the database: ``system_config`` rows ``emergency_stop`` and ``trading_paused`` (the seeds'
  manuals stop a bot with ``UPDATE system_config SET value='true' WHERE
  key='emergency_stop'``; the rows exist from migration 0002 on, so that statement works);
- optionally an AWS SSM parameter (``control.ssm_parameter``), which a Lambda runbook can set
  without reaching the database or the node: ``true`` (or ``stop``) stops the node, ``pause``
  pauses it, ``false`` clears it.

The node polls both; setting either flag stops (or pauses) it within a poll interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, select

from shared.db import schema

EMERGENCY_STOP = "emergency_stop"
TRADING_PAUSED = "trading_paused"
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "stop", "stopped"})
PAUSE_WORDS = frozenset({"pause", "paused"})


def is_set(value: str | None) -> bool:
    return value is not None and value.strip().lower() in TRUE_WORDS


class RemoteState(StrEnum):
    """What the SSM parameter asks of the node (the value written for each)."""

    STOP = "true"
    PAUSE = "pause"
    CLEAR = "false"


def remote_state(value: str | None) -> RemoteState:
    if is_set(value):
        return RemoteState.STOP
    if value is not None and value.strip().lower() in PAUSE_WORDS:
        return RemoteState.PAUSE
    return RemoteState.CLEAR


@dataclass(frozen=True, slots=True)
class Flags:
    emergency_stop: bool
    paused: bool
    updated_by: str | None = None


def read_db_flags(engine: Engine) -> Flags:
    t = schema.system_config
    with engine.connect() as conn:
        rows = {
            r.key: r
            for r in conn.execute(
                select(t.c.key, t.c.value, t.c.updated_by).where(
                    t.c.key.in_([EMERGENCY_STOP, TRADING_PAUSED])
                )
            )
        }
    stop = rows.get(EMERGENCY_STOP)
    paused = rows.get(TRADING_PAUSED)
    return Flags(
        emergency_stop=is_set(stop.value if stop else None),
        paused=is_set(paused.value if paused else None),
        updated_by=stop.updated_by if stop and is_set(stop.value) else None,
    )


def write_db_flag(engine: Engine, key: str, value: bool, actor: str, reason: str) -> None:
    """Set or clear a flag, with an audit log entry, in one transaction."""
    from sqlalchemy.dialects import postgresql, sqlite

    t = schema.system_config
    with engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(t).values(
            key=key, value="true" if value else "false", updated_by=actor[:128]
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": stmt.excluded.value, "updated_by": stmt.excluded.updated_by},
        )
        conn.execute(stmt)
        conn.execute(
            schema.audit_log.insert().values(
                actor=actor[:128],
                action=f"{key}:{'set' if value else 'cleared'}",
                detail=json.dumps({"reason": reason}),
            )
        )


def read_ssm_state(client: Any, name: str) -> RemoteState:
    """The remote flag; a parameter that does not exist is "clear"."""
    try:
        answer = client.get_parameter(Name=name)
    except client.exceptions.ParameterNotFound:
        return RemoteState.CLEAR
    return remote_state(answer["Parameter"]["Value"])


def read_ssm_flag(client: Any, name: str) -> bool:
    """True when the remote flag asks for an emergency stop."""
    return read_ssm_state(client, name) is RemoteState.STOP


def write_ssm_state(client: Any, name: str, state: RemoteState) -> None:
    client.put_parameter(Name=name, Value=state.value, Type="String", Overwrite=True)


def write_ssm_flag(client: Any, name: str, value: bool) -> None:
    write_ssm_state(client, name, RemoteState.STOP if value else RemoteState.CLEAR)


def pause_ssm(client: Any, name: str) -> RemoteState:
    """Ask for a pause through the remote flag, never weakening a stop already asked for;
    returns the state the flag holds afterwards."""
    if read_ssm_state(client, name) is RemoteState.STOP:
        return RemoteState.STOP
    write_ssm_state(client, name, RemoteState.PAUSE)
    return RemoteState.PAUSE


SSM_TIMEOUT_S = 2
SSM_MAX_ATTEMPTS = 2  # botocore: retries after the first attempt


def ssm_client(region: str | None) -> Any:
    """A boto3 SSM client bounded for the stop flag: 2 s to connect, 2 s to read, three attempts
    at most. boto3's defaults (60 s reads, several retries) would let a stop wait on SSM for
    minutes. The node's flag poller uses this client too (``edge_node.trading``)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=SSM_TIMEOUT_S,
        read_timeout=SSM_TIMEOUT_S,
        retries={"max_attempts": SSM_MAX_ATTEMPTS},  # retries after the first: 3 tries at most
    )
    return boto3.client("ssm", region_name=region, config=config)
