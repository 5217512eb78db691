"""Secrets Manager's side of a rotation, for tests: open a rotation as RotateSecret does, then
call the rotation function once per step with the event Secrets Manager sends.

moto's ``rotate_secret`` differs from AWS (FIELD-NOTES): it does not refuse a rotation while a
stale AWSPENDING version exists, and it cannot run a Lambda without Docker. So the driver
refuses as AWS does ("A previous rotation isn't complete"), and lets moto only stage the new,
empty AWSPENDING version: given a function ARN that does not exist, moto stages the version
and then fails to find the function, which leaves exactly the state in which AWS calls
createSecret. The steps are then the caller's ``invoke`` (the handler, called directly).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import ClientError

from functions.rotation.staging import STEPS, Step, open_rotation

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:edge-ops-rotation"
Invoke = Callable[[dict[str, Any]], Any]


class PreviousRotationIncomplete(Exception):
    """What AWS's RotateSecret answers while an AWSPENDING version is not current."""


def event(secret_id: str, token: str, step: Step) -> dict[str, Any]:
    return {"Step": step.value, "SecretId": secret_id, "ClientRequestToken": token}


class SecretsManagerDriver:
    def __init__(self, sm: Any, invoke: Invoke) -> None:
        self.sm = sm
        self.invoke = invoke
        self.results: list[Any] = []

    def open(self, secret_id: str, days: int = 90) -> str:
        if open_rotation(self.sm.describe_secret(SecretId=secret_id)) is not None:
            raise PreviousRotationIncomplete(f"a previous rotation of {secret_id} isn't complete")
        token = str(uuid.uuid4())
        try:
            self.sm.rotate_secret(
                SecretId=secret_id,
                ClientRequestToken=token,
                RotationLambdaARN=FUNCTION_ARN,
                RotationRules={"AutomaticallyAfterDays": days},
            )
        except ClientError as err:
            if err.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        stages = self.sm.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
        assert stages.get(token) == ["AWSPENDING"], stages
        return token

    def step(self, secret_id: str, token: str, step: Step) -> Any:
        result = self.invoke(event(secret_id, token, step))
        self.results.append(result)
        return result

    def rotate(
        self,
        secret_id: str,
        *,
        replay: bool = False,
        between: Callable[[Step], None] | None = None,
    ) -> str:
        """A whole rotation; with ``replay`` each step is delivered twice (as a retry does);
        ``between(step)`` runs after each step (load checks, assertions)."""
        token = self.open(secret_id)
        for step in STEPS:
            self.step(secret_id, token, step)
            if replay:
                self.step(secret_id, token, step)
            if between is not None:
                between(step)
        return token


@contextlib.contextmanager
def core_loggers_restored() -> Iterator[None]:
    """Calling a handler gives the core loggers (``functions``, ``shared``) that function's
    JSON handler (functions.common.observability): put back what was there, so a test calling
    the rotation handler leaves the other functions' tests as they found them."""
    from functions.common.observability import CORE_LOGGERS

    saved = {
        name: (list(lg.handlers), lg.level, lg.propagate)
        for name in CORE_LOGGERS
        for lg in [logging.getLogger(name)]
    }
    try:
        yield
    finally:
        for name, (handlers, level, propagate) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
