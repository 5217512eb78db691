"""The rotation functions' CloudWatch metrics (EMF, namespace ``EdgeOps``, dimensions
``service`` and ``environment``): one list, for the handlers and the Pulumi program's alarms
(infra/catalog/; tests/infra checks every alarm reads a metric declared here)."""

from __future__ import annotations

SECRET = "secret"  # noqa: S105 (a dimension name) the per-secret metric's extra dimension (the secret's name)

# service "rotation": one per step the rotation functions run
STEP_SUCCEEDED = "RotationStepSucceeded"
STEP_FAILED = "RotationStepFailed"
FINISHED = "RotationFinished"  # a finishSecret that made a new version current
# service "secret-age": the daily check
SECRETS_CHECKED = "SecretsChecked"
SECRETS_OVERDUE = "SecretsOverdue"  # the SecretAge alarm reads it
ROTATIONS_STUCK = "SecretRotationsStuck"  # an AWSPENDING older than rotation_stuck_hours
SECRET_AGE_DAYS = "SecretAgeDays"  # noqa: S105 (a metric name) per secret (dimension ``secret``)

AGE_SERVICE = "secret-age"

# metric -> its dimensions besides service and environment
DIMENSIONS: dict[str, tuple[str, ...]] = {
    STEP_SUCCEEDED: (),
    STEP_FAILED: (),
    FINISHED: (),
    SECRETS_CHECKED: (),
    SECRETS_OVERDUE: (),
    ROTATIONS_STUCK: (),
    SECRET_AGE_DAYS: (SECRET,),
}
