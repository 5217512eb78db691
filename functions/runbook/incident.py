"""Incident reports, as seed 001's ``incident-report.sh`` writes them (severity, description,
reporter, timeline with times, impact, root cause, actions taken, prevention, follow-up), with
what a machine knows added: each action's result and the metrics at the time.

``render`` is pure; ``write`` puts the Markdown in S3 under ``incidents/YYYY/MM/DD/`` and returns
its ``s3://`` URL and a presigned HTTPS link an operator can open from the alert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from functions.common.s3url import S3Location

LINK_TTL_S = 7 * 86_400  # a presigned link lives at most a week (SigV4's limit)

# The seeds' S1-S4 (000, 001), P0-P3 (002, 004) and the fan-out's levels, to one scale.
_LEVELS = {
    "s1": "S1", "p0": "S1", "critical": "S1",
    "s2": "S2", "p1": "S2", "high": "S2", "warning": "S2",
    "s3": "S3", "p2": "S3", "medium": "S3",
    "s4": "S4", "p3": "S4", "low": "S4", "info": "S4",
}  # fmt: skip
FANOUT_SEVERITY = {"S1": "critical", "S2": "high", "S3": "medium", "S4": "low"}


def parse_severity(text: str) -> str:
    """``S1``..``S4`` from any of the seeds' spellings; ``BadInput`` naming the known ones."""
    level = _LEVELS.get(text.strip().lower())
    if level is None:
        raise BadInput(f"severity {text!r}: write S1-S4, P0-P3 or critical/high/medium/low")
    return level


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    what: str
    result: str = ""
    ok: bool = True


@dataclass
class IncidentReport:
    severity: str  # S1..S4
    description: str
    reporter: str
    detected_at: datetime
    runbook: str | None = None
    alarm: str | None = None
    timeline: list[Step] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    resolved_at: datetime | None = None
    outcome: str = ""  # one line: what the machine achieved

    def note(
        self, what: str, result: str = "", ok: bool = True, at: datetime | None = None
    ) -> Step:
        step = Step(at or datetime.now(UTC), what, result, ok)
        self.timeline.append(step)
        return step

    @property
    def actions(self) -> list[Step]:
        return [s for s in self.timeline if s.result]


def _t(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render(r: IncidentReport) -> str:
    lines = [
        f"# Incident Report: {r.severity}",
        "",
        "## Summary",
        f"- **Date**: {_t(r.detected_at)}",
        f"- **Severity**: {r.severity} ({FANOUT_SEVERITY[r.severity]})",
        f"- **Description**: {r.description}",
        f"- **Reporter**: {r.reporter}",
    ]
    if r.alarm:
        lines.append(f"- **Alarm**: {r.alarm}")
    if r.runbook:
        lines.append(f"- **Runbook**: {r.runbook}")
    if r.outcome:
        lines.append(f"- **Outcome**: {r.outcome}")
    lines += [
        "",
        "## Timeline",
        f"- **Detected**: {_t(r.detected_at)}",
    ]
    lines += [f"- {_t(s.at)}: {s.what}" + (f": {s.result}" if s.result else "") for s in r.timeline]
    lines.append(f"- **Resolved**: {_t(r.resolved_at) if r.resolved_at else '[To be updated]'}")
    lines += [
        "",
        "## Impact",
        "- Affected users: [To be determined]",
        "- Duration: [To be calculated]",
        "- Transactions affected: [To be counted]",
        "",
        "## Root Cause",
        "[To be investigated]",
        "",
        "## Actions Taken",
    ]
    actions = r.actions
    if actions:
        lines += [
            f"{i}. {s.what}: {'ok' if s.ok else 'FAILED'}: {s.result} ({_t(s.at)})"
            for i, s in enumerate(actions, 1)
        ]
    else:
        lines.append("1. [Action 1]")
    lines += ["", "## Metrics at the time"]
    if r.metrics:
        lines += [f"- {k}: {v}" for k, v in sorted(r.metrics.items())]
    else:
        lines.append("- (none recorded)")
    lines += [
        "",
        "## Prevention",
        "- [ ] Update monitoring alerts",
        "- [ ] Add automated safeguards",
        "- [ ] Document lessons learned",
        "",
        "## Follow-up",
        "- [ ] Post-mortem meeting",
        "- [ ] Update runbook",
        "- [ ] Implement preventive measures",
        "",
    ]
    return "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:48] or "incident"


def key_for(r: IncidentReport) -> str:
    at = r.detected_at.astimezone(UTC)
    name = _slug(r.runbook or r.alarm or r.description)
    micro = f"{at.microsecond:06d}"
    return f"{at:%Y/%m/%d}/incident_{r.severity}_{at:%Y%m%d_%H%M%S}_{micro}_{name}.md"


@dataclass(frozen=True, slots=True)
class Written:
    url: str  # s3://...
    link: str  # presigned https, for the alert


def write(s3: S3Client, where: S3Location, r: IncidentReport) -> Written:
    key = where.key(key_for(r))
    s3.put_object(
        Bucket=where.bucket,
        Key=key,
        Body=render(r).encode(),
        ContentType="text/markdown; charset=utf-8",
    )
    link = s3.generate_presigned_url(
        "get_object", Params={"Bucket": where.bucket, "Key": key}, ExpiresIn=LINK_TTL_S
    )
    return Written(f"s3://{where.bucket}/{key}", link)
