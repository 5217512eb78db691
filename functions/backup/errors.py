"""Exceptions of the backup cores, named for what the caller must do (on the common kinds:
``BadInput`` exits 2, ``Unavailable`` means retry later, ``Corrupt`` means stop and alarm)."""

from __future__ import annotations

from functions.common.errors import BadInput, Corrupt, Unavailable


class BackupNotFound(BadInput):
    """No backup answers to the name given: the operator must name an existing one."""


class TargetNotEmpty(BadInput):
    """The restore target holds data: the operator must pass --force (it is backed up first)."""


class WrongKind(BadInput):
    """The backup and the database are of different kinds (SQLite vs PostgreSQL)."""


class BackupCorrupt(Corrupt):
    """The backup does not match its manifest: stop, alarm, and use another backup."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class SourceUnavailable(Unavailable):
    """The database or the object store went away mid-way: nothing was kept; retry later."""
