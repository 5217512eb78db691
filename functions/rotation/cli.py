"""``edge-ops rotate NAME`` and ``edge-ops secrets age``: the rotation function's steps and the
secret-age check, run by a person (the same code as the functions, against real AWS or the
endpoint in AWS_ENDPOINT_URL).

``rotate NAME`` runs a whole rotation: it starts one (new version, createSecret) unless one is
under way, in which case it resumes that one; each step does nothing it has already done.
``--step`` runs one step only (of the rotation under way); ``--abandon`` drops a rotation left
half done (its AWSPENDING label; the current value is untouched); ``--status`` shows the
versions and their labels. A person's rotation does not need rotation switched on for the
secret (an operator may take over from a disabled schedule)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from functions.cli.output import emit, json_option
from functions.common.errors import BadInput
from functions.rotation.staging import STEP_NAMES

if TYPE_CHECKING:
    from functions.common.aws import AwsClients
    from functions.rotation.settings import RotationSettings


def _setup() -> tuple[RotationSettings, AwsClients]:
    from functions.common.aws import AwsClients, AwsOptions
    from functions.common.settings import load_settings
    from functions.rotation.settings import RotationSettings

    settings = load_settings(RotationSettings)
    return settings, AwsClients(AwsOptions.from_settings(settings))


@click.command()
@click.argument("name")
@click.option(
    "--step",
    type=click.Choice(STEP_NAMES),
    help="Run only this step of the rotation under way (createSecret starts one).",
)
@click.option("--abandon", is_flag=True, help="Drop a rotation left half done.")
@click.option("--status", is_flag=True, help="Show the secret's versions and labels only.")
@json_option
def rotate(name: str, step: str | None, abandon: bool, status: bool, as_json: bool) -> None:
    """Rotate secret NAME (the API token or the database password) now, or resume a
    rotation left half done."""
    from functions.rotation import steps as core
    from functions.rotation.staging import STEPS, Step, open_rotation
    from functions.rotation.wiring import rotators

    if abandon and (step or status):
        raise BadInput("--abandon runs alone (without --step or --status)")
    settings, aws = _setup()
    sm = aws.secretsmanager
    if status:
        shown = _status(core.describe(sm, name))
        emit(shown, as_json, lambda: _status_lines(shown))
        return
    if abandon:
        dropped = core.abandon(sm, name)
        emit(
            {"secret": name, "abandoned": dropped},
            as_json,
            f"rotation of {name} abandoned (version {dropped} is no longer AWSPENDING)"
            if dropped
            else f"no rotation of {name} was under way: nothing to abandon",
        )
        return
    rotator_for = rotators(settings, sm)
    chosen = Step.parse(step) if step else None
    outcomes = []
    token = open_rotation(core.describe(sm, name))
    if token is None:
        if chosen not in (None, Step.CREATE):
            raise BadInput(
                f"no rotation of {name} is under way: run without --step, or "
                "--step createSecret first"
            )
        outcomes.append(core.start(sm, name, rotator_for))
        token = outcomes[0].version
        todo = list(STEPS[1:]) if chosen is None else []
    else:
        todo = [chosen] if chosen else list(STEPS)
    for s in todo:
        outcomes.append(core.run_step(sm, name, token, s, rotator_for, require_enabled=False))
    result = {"secret": name, "version": token, "steps": outcomes}
    emit(
        result,
        as_json,
        lambda: (
            "\n".join(f"{o.step}: {o.action.replace('_', ' ')}" for o in outcomes)
            + f"\nversion {token}"
        ),
    )


def _status(metadata: dict[str, Any]) -> dict[str, Any]:
    from functions.rotation.kinds import tagged_kind
    from functions.rotation.staging import open_rotation, stages

    return {
        "secret": metadata.get("Name"),
        "kind": (k.value if (k := tagged_kind(metadata)) else None),
        "rotation_enabled": bool(metadata.get("RotationEnabled")),
        "last_rotated": metadata.get("LastRotatedDate"),
        "next_rotation": metadata.get("NextRotationDate"),
        "rotation_under_way": open_rotation(metadata),
        "versions": {v: labels for v, labels in stages(metadata).items() if labels},
    }


def _status_lines(shown: dict[str, Any]) -> str:
    lines = [f"{k}: {'-' if v is None else v}" for k, v in shown.items() if k != "versions"]
    lines += [f"version {v}: {', '.join(labels)}" for v, labels in shown["versions"].items()]
    return "\n".join(lines)


@click.group()
def secrets() -> None:
    """Our secrets in Secrets Manager: how old they are."""


@secrets.command()
@click.option(
    "--at",
    "at_text",
    metavar="ISO-8601",
    help="Judge ages as of this time (default: now), e.g. to see what falls due next month.",
)
@json_option
def age(at_text: str | None, as_json: bool) -> None:
    """Every secret tagged edge-ops:secret-kind against its schedule (90 days for tokens and
    database passwords, 180 for provider API keys), and rotations left half done. Reads no
    secret value. Exit 0 either way; the list says what is due."""
    from functions.rotation.age import scan

    at = _parse_time(at_text) if at_text else datetime.now(UTC)
    settings, aws = _setup()
    found = scan(
        aws.secretsmanager,
        at,
        timedelta(hours=settings.rotation_stuck_hours),
        settings.secret_ids,
        settings.secret_max_age_days,
    )
    rows = [
        {
            "secret": f.name,
            "kind": f.kind.value,
            "age_days": f.age_days,
            "max_age_days": f.max_age_days,
            "overdue": f.overdue,
            "rotation_stuck": f.rotation_stuck,
            "advice": f.advice,
        }
        for f in found
    ]

    def human() -> str:
        if not rows:
            return "no secret is tagged edge-ops:secret-kind"
        return "\n".join(
            f"{r['secret']:<32} {r['kind']:<9} {r['age_days']:>7.1f} / {r['max_age_days']} days"
            f"  {r['advice']}"
            for r in rows
        )

    emit({"at": at, "secrets": rows}, as_json, human)


def _parse_time(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"--at {text!r} is not an ISO-8601 time (2026-12-31T00:00:00Z)") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
