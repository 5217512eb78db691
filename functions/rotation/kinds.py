"""What each of our secrets is, how it rotates, and how old it may get (seed 002: tokens and
database passwords every 90 days, API keys every 180).

A secret says what it is with the tag ``edge-ops:secret-kind`` (``api-token``, ``database``,
``api-key``); ``edge-ops:max-age-days`` overrides its schedule. Untagged secrets are recognised
by their value where that is unambiguous (64 hex characters: a token; an RDS-style JSON object:
database credentials); the secret-age check looks only at tagged secrets, so that it never
warns about a secret that is not ours.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from typing import Any

from functions.common.errors import BadInput

KIND_TAG = "edge-ops:secret-kind"
MAX_AGE_TAG = "edge-ops:max-age-days"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class SecretKind(enum.StrEnum):
    API_TOKEN = "api-token"  # noqa: S105 (a kind, not a token): the node's bearer token: rotated by the machine
    DATABASE = "database"  # the store's credentials: rotated by the machine (alternating users)
    API_KEY = "api-key"  # a provider's key (RPC): rotated by a person at the provider

    @property
    def machine_rotates(self) -> bool:
        return self is not SecretKind.API_KEY

    @property
    def max_age_days(self) -> int:
        return 180 if self is SecretKind.API_KEY else 90


def tags(metadata: Mapping[str, Any]) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value", "")) for t in metadata.get("Tags") or []}


def tagged_kind(metadata: Mapping[str, Any]) -> SecretKind | None:
    value = tags(metadata).get(KIND_TAG)
    if value is None:
        return None
    try:
        return SecretKind(value.strip().lower())
    except ValueError:
        known = ", ".join(k.value for k in SecretKind)
        raise BadInput(
            f"secret {metadata.get('Name')!r}: tag {KIND_TAG}={value!r} is not one of {known}"
        ) from None


def kind_from_value(value: str) -> SecretKind | None:
    if _HEX64.fullmatch(value.strip()):
        return SecretKind.API_TOKEN
    if value.lstrip().startswith("{"):
        try:
            fields = json.loads(value)
        except ValueError:
            return None
        if isinstance(fields, dict) and {"username", "password", "host"} <= fields.keys():
            return SecretKind.DATABASE
    return None


def max_age_days(metadata: Mapping[str, Any], kind: SecretKind) -> int:
    text = tags(metadata).get(MAX_AGE_TAG)
    if text is None:
        return kind.max_age_days
    try:
        days = int(text)
    except ValueError:
        days = 0
    if days < 1:
        raise BadInput(
            f"secret {metadata.get('Name')!r}: tag {MAX_AGE_TAG}={text!r} is not a whole "
            "number of days"
        )
    return days
