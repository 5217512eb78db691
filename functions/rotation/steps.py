"""The four rotation steps against Secrets Manager (the shell around ``staging`` and a
``Rotator``, which knows one kind of secret).

- createSecret: a new value for the pending version, unless it already has one (a replay);
- setSecret: the far side learns the pending value (a database role's password), unless the
  pending value already works there (a replay, or an interrupted step that got that far);
- testSecret: the pending value works;
- finishSecret: the pending version becomes AWSCURRENT (Secrets Manager moves AWSPREVIOUS to
  the old one itself), then loses its AWSPENDING label, so that a finished rotation leaves no
  AWSPENDING behind (a stale one blocks the next rotation).

Values are read by version id and never cached here; nothing logs or returns a value.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from functions.common.aws import error_code
from functions.common.errors import BadInput, Unavailable
from functions.rotation.kinds import SecretKind, kind_from_value, tagged_kind
from functions.rotation.staging import (
    RotationRefused,
    Step,
    Verdict,
    check,
    new_token,
    open_rotation,
    stages,
    version_with,
)
from shared.secret_versions import CURRENT, PENDING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger(__name__)


class Rotator(Protocol):
    """One kind of secret: how a new value is made, given to the far side and tested."""

    def create(self, current: str) -> str:
        """A new value made from the current one (which may carry host, user, ...)."""
        ...

    def set(self, current: str, pending: str) -> bool:
        """Make the far side accept ``pending``; False if it already did (nothing done)."""
        ...

    def test(self, pending: str) -> None:
        """Raise if ``pending`` does not work."""
        ...


RotatorFor = Callable[[SecretKind], Rotator]


@dataclass(frozen=True, slots=True)
class StepOutcome:
    secret: str
    version: str
    step: str
    action: str  # "done", "already_done" (a replay) or "already_current" (rotation finished)


@contextmanager
def aws_errors(secret_id: str) -> Iterator[None]:
    """Secrets Manager's errors as ours: a missing secret is bad input, the rest unavailable."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as err:
        code = error_code(err)
        if code == "ResourceNotFoundException":
            raise BadInput(f"secret {secret_id!r} does not exist") from None
        if code in ("InvalidRequestException", "InvalidParameterException"):
            raise RotationRefused(f"Secrets Manager refused it for {secret_id!r} ({code})") from err
        raise Unavailable(f"Secrets Manager failed for {secret_id!r} ({code})") from err
    except BotoCoreError as err:
        raise Unavailable(f"could not reach Secrets Manager: {type(err).__name__}") from err


def describe(sm: SecretsManagerClient, secret_id: str) -> dict[str, Any]:
    with aws_errors(secret_id):
        return dict(sm.describe_secret(SecretId=secret_id))


def read_value(
    sm: SecretsManagerClient, secret_id: str, *, stage: str = CURRENT, version: str | None = None
) -> str | None:
    """The text of one version (None if that version has no value yet)."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {"SecretId": secret_id, "VersionStage": stage}
    if version is not None:
        kwargs["VersionId"] = version
    with aws_errors(secret_id):
        try:
            answer = sm.get_secret_value(**kwargs)
        except ClientError as err:
            if error_code(err) == "ResourceNotFoundException":  # no such version, or empty
                return None
            raise
    value = answer.get("SecretString")
    if value is None:
        raise BadInput(f"secret {secret_id!r} holds binary data, not text")
    return value


def _current(sm: SecretsManagerClient, secret_id: str) -> str:
    value = read_value(sm, secret_id)
    if value is None:
        raise BadInput(f"secret {secret_id!r} has no AWSCURRENT value to rotate from")
    return value


def kind_of(metadata: dict[str, Any], current: str) -> SecretKind:
    kind = tagged_kind(metadata) or kind_from_value(current)
    name = metadata.get("Name")
    if kind is None:
        raise BadInput(
            f"secret {name!r}: what it holds is unknown; tag it edge-ops:secret-kind="
            "api-token or database"
        )
    if not kind.machine_rotates:
        raise RotationRefused(
            f"secret {name!r} is a provider's API key: a machine cannot rotate it. Make a new "
            "key at the provider, store it (aws secretsmanager put-secret-value), then revoke "
            "the old one"
        )
    return kind


def run_step(
    sm: SecretsManagerClient,
    secret_id: str,
    token: str,
    step: Step,
    rotator_for: RotatorFor,
    *,
    require_enabled: bool = True,
) -> StepOutcome:
    """One step, as Secrets Manager calls it: guarded, and a no-op when replayed."""
    metadata = describe(sm, secret_id)
    name = str(metadata.get("Name", secret_id))
    if check(metadata, token, require_enabled=require_enabled) is Verdict.ALREADY_CURRENT:
        if PENDING in stages(metadata)[token]:  # a finishSecret interrupted half way
            _unstage_pending(sm, secret_id, token)
        log.info("%s: version %s is already AWSCURRENT for %s", step, token, name)
        return StepOutcome(name, token, step.value, "already_current")
    current = _current(sm, secret_id)
    rotator = rotator_for(kind_of(metadata, current))
    action = "done"
    if step is Step.CREATE:
        if read_value(sm, secret_id, stage=PENDING, version=token) is not None:
            action = "already_done"
        else:
            _put_pending(sm, secret_id, token, rotator.create(current))
    elif step is Step.SET:
        if not rotator.set(current, _pending(sm, secret_id, token)):
            action = "already_done"
    elif step is Step.TEST:
        rotator.test(_pending(sm, secret_id, token))
    else:
        _pending(sm, secret_id, token)  # never make an empty version current
        with aws_errors(secret_id):
            sm.update_secret_version_stage(
                SecretId=secret_id,
                VersionStage=CURRENT,
                MoveToVersionId=token,
                RemoveFromVersionId=version_with(metadata, CURRENT) or "",
            )
        _unstage_pending(sm, secret_id, token)
    log.info("%s: %s for %s version %s", step, action, name, token)
    return StepOutcome(name, token, step.value, action)


def start(sm: SecretsManagerClient, secret_id: str, rotator_for: RotatorFor) -> StepOutcome:
    """Open a rotation as Secrets Manager's RotateSecret does, and run createSecret in one go
    (for a person: the new version is created with its value). Refused while another
    rotation is under way."""
    metadata = describe(sm, secret_id)
    name = str(metadata.get("Name", secret_id))
    under_way = open_rotation(metadata)
    if under_way is not None:
        raise RotationRefused(
            f"a rotation of {name!r} is under way (version {under_way}): resume it "
            f"(edge-ops rotate {name}) or drop it (edge-ops rotate {name} --abandon)"
        )
    current = _current(sm, secret_id)
    rotator = rotator_for(kind_of(metadata, current))
    token = new_token()
    _put_pending(sm, secret_id, token, rotator.create(current))
    log.info("createSecret: done for %s version %s (started by hand)", name, token)
    return StepOutcome(name, token, Step.CREATE.value, "done")


def abandon(sm: SecretsManagerClient, secret_id: str) -> str | None:
    """Drop the AWSPENDING label of an unfinished rotation (its version stays, unlabelled);
    the version id dropped, or None if no rotation was under way."""
    version = open_rotation(describe(sm, secret_id))
    if version is not None:
        _unstage_pending(sm, secret_id, version)
        log.warning(
            "rotation of %s abandoned: version %s is no longer AWSPENDING", secret_id, version
        )
    return version


def _pending(sm: SecretsManagerClient, secret_id: str, token: str) -> str:
    value = read_value(sm, secret_id, stage=PENDING, version=token)
    if value is None:
        raise RotationRefused(
            f"version {token} of {secret_id!r} has no value yet: run createSecret first"
        )
    return value


def _put_pending(sm: SecretsManagerClient, secret_id: str, token: str, value: str) -> None:
    with aws_errors(secret_id):
        sm.put_secret_value(
            SecretId=secret_id,
            ClientRequestToken=token,
            SecretString=value,
            VersionStages=[PENDING],
        )


def _unstage_pending(sm: SecretsManagerClient, secret_id: str, token: str) -> None:
    with aws_errors(secret_id):
        sm.update_secret_version_stage(
            SecretId=secret_id, VersionStage=PENDING, RemoveFromVersionId=token
        )
