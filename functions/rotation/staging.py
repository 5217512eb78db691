"""Which version a rotation step may act on: the guards of AWS's rotation template (pure).

Secrets Manager starts a rotation by staging a new, still empty, version (its id is the
``ClientRequestToken``) as AWSPENDING, then calls the rotation function once per step. Every
step may be called again (a retry, a timeout, a duplicate delivery), so a step checks first:
- the secret's rotation is enabled (when called by Secrets Manager);
- the token is one of the secret's versions;
- that version is already AWSCURRENT: the rotation finished, nothing to do;
- otherwise it must be AWSPENDING: a step for any other version is refused.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from functions.common.errors import BadInput, OpsError
from shared.secret_versions import CURRENT, PENDING

_TOKEN = re.compile(r"^[A-Za-z0-9-]{32,64}$")


class Step(enum.StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"

    @classmethod
    def parse(cls, text: str) -> Step:
        for step in cls:
            if text in (step.value, step.name.lower()):
                return step
        raise BadInput(f"unknown rotation step {text!r} (one of {', '.join(STEP_NAMES)})")


STEPS: tuple[Step, ...] = (Step.CREATE, Step.SET, Step.TEST, Step.FINISH)
STEP_NAMES = tuple(s.value for s in STEPS)


class RotationRefused(OpsError):
    """The step may not act on this version (not staged, rotation disabled, another rotation
    under way): nothing was changed. Look at the secret's versions (``edge-ops rotate NAME
    --status``) before starting again."""

    kind = "rotation_refused"


@dataclass(frozen=True, slots=True)
class RotationEvent:
    """What Secrets Manager sends the rotation function."""

    step: Step
    secret_id: str
    token: str

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> RotationEvent:
        missing = [k for k in ("Step", "SecretId", "ClientRequestToken") if not event.get(k)]
        if missing:
            raise BadInput(f"not a rotation event: {', '.join(missing)} missing")
        token = str(event["ClientRequestToken"])
        if not _TOKEN.fullmatch(token):
            raise BadInput("ClientRequestToken is not a version id (32-64 letters, digits, -)")
        return cls(Step.parse(str(event["Step"])), str(event["SecretId"]), token)


def new_token() -> str:
    return str(uuid.uuid4())


def stages(metadata: Mapping[str, Any]) -> dict[str, list[str]]:
    """Version id -> its staging labels, from ``describe_secret``."""
    raw = metadata.get("VersionIdsToStages") or {}
    return {str(k): [str(s) for s in v] for k, v in raw.items()}


def version_with(metadata: Mapping[str, Any], label: str) -> str | None:
    return next((v for v, labels in stages(metadata).items() if label in labels), None)


def open_rotation(metadata: Mapping[str, Any]) -> str | None:
    """The version of a rotation under way: staged AWSPENDING and not (yet) AWSCURRENT."""
    return next(
        (
            v
            for v, labels in stages(metadata).items()
            if PENDING in labels and CURRENT not in labels
        ),
        None,
    )


class Verdict(enum.Enum):
    RUN = "run"  # the token is AWSPENDING: do the step
    ALREADY_CURRENT = "already_current"  # the rotation finished: the step does nothing


def check(metadata: Mapping[str, Any], token: str, *, require_enabled: bool = True) -> Verdict:
    """May a step act on version ``token``? ``RotationRefused`` says why not."""
    name = metadata.get("Name", "the secret")
    if require_enabled and metadata.get("RotationEnabled") is False:
        raise RotationRefused(f"rotation is not enabled for secret {name!r}")
    labels = stages(metadata).get(token)
    if labels is None:
        raise RotationRefused(f"version {token} is not a version of secret {name!r}")
    if CURRENT in labels:
        return Verdict.ALREADY_CURRENT
    if PENDING not in labels:
        raise RotationRefused(
            f"version {token} of secret {name!r} is not staged AWSPENDING "
            f"(its labels: {', '.join(labels) or 'none'})"
        )
    return Verdict.RUN


def remaining(after: Step | None) -> Sequence[Step]:
    """The steps still to run after ``after`` (all four for None)."""
    return STEPS if after is None else STEPS[STEPS.index(after) + 1 :]
