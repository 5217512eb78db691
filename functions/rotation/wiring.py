"""Which rotator serves which kind of secret, built from the settings and a client."""

from __future__ import annotations

from typing import TYPE_CHECKING

from functions.common.errors import BadInput
from functions.rotation.database import DatabaseRotator
from functions.rotation.kinds import SecretKind
from functions.rotation.settings import RotationSettings
from functions.rotation.steps import Rotator, RotatorFor, read_value
from functions.rotation.token import ApiTokenRotator

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


def rotators(settings: RotationSettings, sm: SecretsManagerClient) -> RotatorFor:
    def read_current(secret_id: str) -> str:
        value = read_value(sm, secret_id)
        if value is None:
            raise BadInput(f"secret {secret_id!r} has no current value")
        return value

    def rotator_for(kind: SecretKind) -> Rotator:
        if kind is SecretKind.API_TOKEN:
            return ApiTokenRotator(settings.node_url, settings.node_timeout_s)
        if kind is SecretKind.DATABASE:
            return DatabaseRotator(read_current, settings.db_connect_timeout_s)
        raise BadInput(f"no rotator for {kind.value}")  # kind_of refuses api-key before this

    return rotator_for
