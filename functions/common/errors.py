"""Exceptions named for what the caller must do.

A handler lets them propagate (the invocation fails, the error metric counts it, EventBridge or
SNS retries); the CLI turns them into one line on stderr and an exit code (``exit_code``).
Messages are written for an operator: they say what is wrong and what to do, and never quote a
secret.
"""

from __future__ import annotations


class OpsError(Exception):
    """Base of the errors an operation reports on purpose (anything else is a bug)."""

    exit_code = 1
    kind = "failure"


class BadInput(OpsError):
    """The operator's input is unusable (a URL, a date, an option): fix it and run again.

    Nothing was changed. The CLI prints one line and exits 2, like a usage error.
    """

    exit_code = 2
    kind = "bad_input"


class SchemaMissing(BadInput):
    """The store has no schema (a table the command reads is not there): the database is new or
    the URL names the wrong one. Create the schema with ``edge-node db migrate`` and run again.

    Nothing was changed. Exits 2 like any other input the operator must fix.
    """

    kind = "schema_missing"


class Unavailable(OpsError):
    """A dependency (database, S3, Secrets Manager) is unreachable or refused: retry later."""

    kind = "unavailable"


class CredentialsRefused(Unavailable):
    """A database or endpoint refused the secret even after it was fetched again.

    The secret itself is wrong or a rotation is half done: look at the secret, then retry.
    """

    kind = "credentials_refused"


class Corrupt(OpsError):
    """Data is not what it must be (a checksum, a manifest, an invariant): stop and alarm.

    Never retried automatically: repeating the operation would not make the data right.
    """

    kind = "corrupt"
