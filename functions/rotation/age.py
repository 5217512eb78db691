"""How old each of our secrets is against its schedule (seed 002: 90 days for tokens and
database passwords, 180 for API keys), and rotations left half done.

``assess`` is pure; ``scan`` reads Secrets Manager: every secret tagged
``edge-ops:secret-kind``, the creation time of its AWSCURRENT version (when its value last
changed, by rotation or by hand), and of an AWSPENDING version that is not current (a rotation
that failed half way: it blocks the next one). No secret value is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from functions.common.aws import error_code
from functions.common.errors import BadInput
from functions.rotation.kinds import KIND_TAG, SecretKind, max_age_days, tagged_kind
from functions.rotation.steps import aws_errors
from shared.secret_versions import CURRENT, PENDING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class SecretAge:
    name: str
    kind: SecretKind
    max_age_days: int
    age_days: float
    current_since: datetime
    pending_since: datetime | None  # a rotation under way since
    overdue: bool
    rotation_stuck: bool

    @property
    def ok(self) -> bool:
        return not (self.overdue or self.rotation_stuck)

    @property
    def advice(self) -> str:
        if self.rotation_stuck:
            return (
                f"a rotation has been pending since {self.pending_since:%Y-%m-%d %H:%M} UTC: "
                f"resume it (edge-ops rotate {self.name}) or drop it (--abandon)"
            )
        if not self.overdue:
            return "ok"
        if self.kind.machine_rotates:
            return f"rotate it: edge-ops rotate {self.name} (and check why the schedule did not)"
        return (
            "make a new key at the provider, store it (aws secretsmanager put-secret-value "
            f"--secret-id {self.name}), then revoke the old key"
        )


def assess(
    name: str,
    kind: SecretKind,
    limit_days: int,
    current_since: datetime,
    pending_since: datetime | None,
    now: datetime,
    stuck_after: timedelta,
) -> SecretAge:
    age = (now - current_since) / DAY
    return SecretAge(
        name=name,
        kind=kind,
        max_age_days=limit_days,
        age_days=round(max(age, 0.0), 2),
        current_since=current_since,
        pending_since=pending_since,
        overdue=age > limit_days,
        rotation_stuck=pending_since is not None and now - pending_since > stuck_after,
    )


def _utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _tagged(sm: SecretsManagerClient) -> Iterable[dict[str, Any]]:
    paginator = sm.get_paginator("list_secrets")
    for page in paginator.paginate(Filters=[{"Key": "tag-key", "Values": [KIND_TAG]}]):
        for entry in page.get("SecretList", []):
            yield dict(entry)


def _version_times(
    sm: SecretsManagerClient, entry: dict[str, Any]
) -> tuple[datetime, datetime | None]:
    """When the current value was set, and since when a rotation is pending (if one is)."""
    from botocore.exceptions import ClientError

    current = pending = None
    kwargs: dict[str, Any] = {"SecretId": entry.get("ARN") or entry["Name"]}
    try:
        while True:  # no paginator for this call
            page = sm.list_secret_version_ids(**kwargs)
            for version in page.get("Versions", []):
                labels = version.get("VersionStages", [])
                created = version.get("CreatedDate")
                if created is None:
                    continue
                if CURRENT in labels:
                    current = _utc(created)
                elif PENDING in labels:
                    pending = _utc(created)
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
    except ClientError as err:
        if error_code(err) != "AccessDeniedException":
            raise
        # Allowed DescribeSecret only: the last change of the secret stands for its value's
        # (a change of tags or description counts too: the age may read young).
        current = None
    if current is None:
        current = _utc(entry.get("LastChangedDate") or entry.get("CreatedDate") or 0)
    return current, pending


# What a secret named by its role (infra's EDGE_OPS_SECRET_IDS) holds, unless tagged.
ROLE_KINDS = {
    "api-token": SecretKind.API_TOKEN,
    "db-credentials": SecretKind.DATABASE,
    "rpc-keys": SecretKind.API_KEY,
}


def scan(
    sm: SecretsManagerClient,
    now: datetime,
    stuck_after: timedelta,
    secret_ids: Mapping[str, str] | None = None,
    max_days: Mapping[str, int] | None = None,
) -> list[SecretAge]:
    """Every secret tagged ``edge-ops:secret-kind``; or, given ``secret_ids`` (role -> id),
    exactly those (their kind from the tag or the role, their limit from ``max_days`` by
    role, else the kind's schedule)."""
    found = []
    with aws_errors("(listing secrets)"):
        entries: list[tuple[dict[str, Any], SecretKind, int]] = []
        if secret_ids:
            for role, secret_id in secret_ids.items():
                entry = dict(sm.describe_secret(SecretId=secret_id))
                kind = tagged_kind(entry) or ROLE_KINDS.get(role) or _kind_named(role)
                limit = (max_days or {}).get(role) or max_age_days(entry, kind)
                entries.append((entry, kind, limit))
        else:
            for entry in _tagged(sm):
                tagged = tagged_kind(entry)
                if tagged is not None:
                    entries.append((entry, tagged, max_age_days(entry, tagged)))
        for entry, kind, limit in entries:
            name = str(entry["Name"])
            current, pending = _version_times(sm, entry)
            found.append(assess(name, kind, limit, current, pending, now, stuck_after))
    return sorted(found, key=lambda s: s.name)


def _kind_named(role: str) -> SecretKind:
    try:
        return SecretKind(role)
    except ValueError:
        known = ", ".join([*ROLE_KINDS, *(k.value for k in SecretKind)])
        raise BadInput(f"EDGE_OPS_SECRET_IDS: unknown role {role!r} (known: {known})") from None


def alert_event(finding: SecretAge, now: datetime, environment: str) -> dict[str, Any]:
    """The fan-out's internal event for a finding (never a value)."""
    stuck = finding.rotation_stuck
    return {
        "kind": "alert",
        "name": "SecretRotationStuck" if stuck else "SecretOverdue",
        "severity": "high" if stuck else "medium",
        "resource": finding.name,
        "summary": (
            f"{finding.name}: rotation pending since {finding.pending_since:%Y-%m-%d %H:%M} UTC"
            if stuck
            else f"{finding.name} ({finding.kind.value}) is {finding.age_days:.0f} days old"
        ),
        "at": now.astimezone(UTC).isoformat(),
        "started_at": (finding.current_since + timedelta(days=finding.max_age_days)).isoformat()
        if not stuck
        else finding.pending_since.isoformat()
        if finding.pending_since
        else None,
        "value": f"{finding.age_days:.1f} days",
        "threshold": f"{finding.max_age_days} days",
        "description": finding.advice,
        "runbook": "secret-rotation",
        "details": {"environment": environment, "secret_kind": finding.kind.value},
        # one alert per secret and day, however often the check runs
        "id": f"{finding.name}:{now:%Y-%m-%d}",
    }
