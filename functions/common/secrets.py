"""Secrets from AWS Secrets Manager, cached, and fetched again once when they are refused.

Values come through powertools' parameters utility (``SecretsProvider``, with the boto3 client
passed in so tests and the CLI choose the endpoint), cached per process for ``max_age_s``: warm
invocations do not call Secrets Manager each time. A cached secret goes stale when it is
rotated; a secret captured once at import time is never refreshed (FIELD-NOTES). So every use of
a secret goes through ``with_fresh_secret``: run the call with the cached value, and if the far
side refuses it as a credential, fetch the secret again bypassing the cache and retry once. A
second refusal is ``CredentialsRefused``; any other error propagates unchanged.

What counts as "refused" (``is_auth_refusal``), looked for along the exception's chain:
- a PostgreSQL login refused, as the node tells it too (``shared.db.logins.login_refused``:
  SQLSTATE 28P01/28000, or a driver's "authentication failed" / 'role "..." does not exist');
- an HTTP 401 or 403 (``status``/``status_code`` attributes, ``response.status_code``, or a
  botocore ``ClientError``'s HTTP status);
- ``SecretRefused``, raised by a caller's own code to ask for the refetch.
A caller with another notion passes its own predicate.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from functions.common.aws import error_code, http_status
from functions.common.errors import BadInput, CredentialsRefused, Unavailable
from shared.db.logins import exception_chain, login_refused
from shared.secret_versions import CURRENT, PENDING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")

_AUTH_HTTP = frozenset({401, 403})


class SecretRefused(Exception):
    """Raised inside a call given to ``with_fresh_secret``: the credential was refused."""


def _http_status_of(err: BaseException) -> int | None:
    for attr in ("status", "status_code"):
        value = getattr(err, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(err, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int):
        return value
    return http_status(err)


def is_auth_refusal(err: BaseException) -> bool:
    if login_refused(err):
        return True
    return any(
        isinstance(e, SecretRefused) or _http_status_of(e) in _AUTH_HTTP
        for e in exception_chain(err)
    )


def with_fresh_secret(
    fetch: Callable[[bool], S],
    call: Callable[[S], T],
    *,
    refused: Callable[[BaseException], bool] = is_auth_refusal,
    what: str = "the secret",
) -> T:
    """``call(fetch(False))``; on a refusal, ``call(fetch(True))`` once (``True``: bypass the
    cache). Raises ``CredentialsRefused`` if the fresh value is refused too."""
    try:
        return call(fetch(False))
    except Exception as err:
        if not refused(err):
            raise
        log.warning("%s was refused; fetching it again and retrying once", what)
    try:
        return call(fetch(True))
    except Exception as err:
        if refused(err):
            raise CredentialsRefused(
                f"{what} was refused again after fetching it anew: check the secret's value "
                "(or a rotation in progress)"
            ) from err
        raise


def _text(value: object, secret_id: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise BadInput(f"secret {secret_id!r} is binary, not text") from None
    if not isinstance(value, str):
        raise BadInput(f"secret {secret_id!r} has no string value")
    return value


class SecretSource:
    """Secrets Manager values through powertools' ``SecretsProvider``, cached ``max_age_s``."""

    def __init__(self, client: SecretsManagerClient, max_age_s: int = 300) -> None:
        # Imported here: powertools' parameters module imports boto3, which a handler that
        # never reads a secret should not pay for at cold start.
        from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

        self._provider = SecretsProvider(boto3_client=client)
        self.max_age_s = max_age_s

    def get(self, secret_id: str, *, force: bool = False) -> str:
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            # AWSCURRENT named, not implied: AWS implies it, but moto (our tests) keeps serving
            # the version a rotation moved the label from when no stage is given.
            value = self._provider.get(
                secret_id, max_age=self.max_age_s, force_fetch=force, VersionStage=CURRENT
            )
        except GetParameterError as err:
            code = next((error_code(e) for e in exception_chain(err) if error_code(e)), None)
            if code == "ResourceNotFoundException":
                raise BadInput(f"secret {secret_id!r} does not exist (or has no value)") from None
            raise Unavailable(
                f"could not read secret {secret_id!r} from Secrets Manager ({code or 'error'}); "
                "retry later or check the function's permissions"
            ) from err
        return _text(value, secret_id)

    def get_pending(self, secret_id: str) -> str | None:
        """The secret's AWSPENDING version, if a rotation is under way; never cached.

        Between a rotation's setSecret and finishSecret steps the far side already has the
        pending credential while AWSCURRENT still holds the old one (FIELD-NOTES), so a
        consumer refused with the current value tries this one. Read with the client directly:
        powertools caches by name only, and a pending value must never be served as current.
        """
        try:
            answer = self._provider.client.get_secret_value(
                SecretId=secret_id, VersionStage=PENDING
            )
        except Exception as err:
            if error_code(err) in ("ResourceNotFoundException", "InvalidRequestException"):
                return None
            raise Unavailable(
                f"could not read the pending version of secret {secret_id!r} "
                f"({error_code(err) or type(err).__name__})"
            ) from err
        value = answer.get("SecretString", answer.get("SecretBinary"))
        return None if value is None else _text(value, secret_id)

    def get_json(self, secret_id: str, *, force: bool = False) -> dict[str, Any]:
        raw = self.get(secret_id, force=force)
        try:
            value = json.loads(raw)
        except ValueError:
            raise BadInput(f"secret {secret_id!r} is not a JSON object") from None
        if not isinstance(value, dict):
            raise BadInput(f"secret {secret_id!r} is not a JSON object")
        return value

    def fetcher(self, secret_id: str) -> Callable[[bool], str]:
        """``fetch(force)`` for ``with_fresh_secret``."""
        return lambda force: self.get(secret_id, force=force)
