"""A database login as the rotation reads it from a secret, and the alternating users' names
and passwords: records and pure helpers (the rotation's database work is ``database``).

Generated passwords use letters and digits only: nothing a URL, a libpq connection string or
a shell would need to escape (a password with ``@``, ``/`` or ``%`` breaks a database URL).
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from functions.common.errors import BadInput, OpsError
from functions.rotation.pg_errors import Work
from shared.db.logins import secret_fields, url_from_fields
from shared.secret_versions import SecretUnreadable

CLONE_SUFFIX = "_clone"
PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 32


class AdminSecretRefused(OpsError):
    """The database refused the administrator's login (the secret the database secret's
    ``masterarn`` names): fix that secret's username or password, then run the rotation again.
    Nothing was changed: the pending version stays pending."""

    kind = "admin_secret_refused"


@dataclass(frozen=True, slots=True)
class DbLogin:
    host: str
    port: int
    dbname: str
    username: str
    password: str
    # the secret's, if it names one; else libpq decides (PGSSLMODE, which the stack sets to
    # require for this function; libpq's own default is prefer)
    sslmode: str | None = None

    @classmethod
    def parse(cls, value: str | dict[str, Any], what: str) -> DbLogin:
        """The login an RDS-style secret (a JSON object) names, read as the node reads it
        (``shared.db.logins``); ``BadInput`` naming ``what`` (never quoting a value)."""
        fields = value if isinstance(value, dict) else secret_object(value, what)
        try:
            url = url_from_fields(fields, what)
        except SecretUnreadable as err:
            raise BadInput(str(err)) from None
        return cls(
            host=url.host or "",
            port=url.port or 5432,
            dbname=url.database or "postgres",
            username=url.username or "",
            password=url.password or "",
            sslmode=str(url.query["sslmode"]) if url.query.get("sslmode") else None,
        )

    def __repr__(self) -> str:  # never the password, even in a traceback's locals
        return f"DbLogin({self.username}@{self.host}:{self.port}/{self.dbname})"


@dataclass(frozen=True, slots=True)
class Administrator:
    login: DbLogin
    secret_id: str  # the masterarn it was read from (for messages)

    def work(self, doing: str) -> Work:
        server = f"{self.login.host}:{self.login.port}"
        return Work(server, doing, self.login.username, self.secret_id)


def secret_object(value: str, what: str) -> dict[str, Any]:
    try:
        return secret_fields(value, what)
    except SecretUnreadable as err:
        raise BadInput(str(err)) from None


def alternate(username: str) -> str:
    """``app`` <-> ``app_clone``."""
    if username.endswith(CLONE_SUFFIX) and len(username) > len(CLONE_SUFFIX):
        return username[: -len(CLONE_SUFFIX)]
    return username + CLONE_SUFFIX


def new_password(length: int = PASSWORD_LENGTH) -> str:
    # ~190 bits at 32 characters; a CSPRNG, never ``random``
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(length))
