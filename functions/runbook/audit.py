"""Every runbook run written to the node's audit log (the store's ``audit_log`` table), beside
what the node's own API audits for the flag changes it makes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from shared.db import schema

if TYPE_CHECKING:
    from sqlalchemy import Engine


def write(engine: Engine, actor: str, action: str, detail: dict[str, Any]) -> None:
    with engine.begin() as conn:
        conn.execute(
            schema.audit_log.insert().values(
                actor=actor[:128], action=action[:64], detail=json.dumps(detail, default=str)
            )
        )
