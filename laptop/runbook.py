"""Stand-in for the pause-trading runbook function (issue 9 section 3, branch ``runbooks``)
until ``functions/runbook`` lands: the same two effects, through the same AWS services.

For each firing alert it sets the node's SSM stop flag (the node polls it; see
edge_node/control.py) and writes an incident report to the reports bucket under
``incidents/`` (infra/catalog.py INCIDENTS_PREFIX). Resolutions change nothing: trading is
resumed by an operator (``edge-node trading resume``), never by an alert going away.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

INCIDENTS_PREFIX = "incidents"


@dataclass(frozen=True, slots=True)
class RunbookTarget:
    stop_flag: str
    reports_bucket: str


def incident_key(alert: dict[str, Any], now: dt.datetime) -> str:
    name = str(alert.get("labels", {}).get("alertname", "alert"))
    fingerprint = str(alert.get("fingerprint") or "nofingerprint")
    return f"{INCIDENTS_PREFIX}/{now:%Y/%m/%d}/{now:%H%M%S}-{name}-{fingerprint}.json"


def incident_report(alert: dict[str, Any], runbook: str, flag: str, now: dt.datetime) -> str:
    return json.dumps(
        {
            "runbook": runbook,
            "alert": alert.get("labels", {}).get("alertname"),
            "labels": alert.get("labels", {}),
            "annotations": alert.get("annotations", {}),
            "started_at": alert.get("startsAt"),
            "actions": [f"set SSM parameter {flag} to true (trading stops within a poll)"],
            "written_at": now.isoformat(),
            "resume": "edge-node trading resume (clears the flag) once the cause is fixed",
        },
        indent=2,
    )


def pause_trading(payload: dict[str, Any], target: RunbookTarget, ssm: Any, s3: Any) -> list[str]:
    """Acts on each firing alert of an Alertmanager webhook; the incident reports' keys."""
    firing = [a for a in payload.get("alerts", []) if a.get("status") == "firing"]
    keys = []
    for alert in firing:
        now = dt.datetime.now(dt.UTC)
        ssm.put_parameter(Name=target.stop_flag, Value="true", Type="String", Overwrite=True)
        key = incident_key(alert, now)
        s3.put_object(
            Bucket=target.reports_bucket,
            Key=key,
            Body=incident_report(alert, "pause-trading", target.stop_flag, now).encode(),
            ContentType="application/json",
        )
        keys.append(key)
    return keys
