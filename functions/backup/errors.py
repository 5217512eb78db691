"""Exceptions of the backup cores, named for what the caller must do."""

from __future__ import annotations


class BackupError(Exception):
    """Base of the errors below."""


class BackupNotFound(BackupError):
    """No backup answers to the name given: the operator must name an existing one."""


class TargetNotEmpty(BackupError):
    """The restore target holds data: the operator must pass --force (it is backed up first)."""


class WrongKind(BackupError):
    """The backup and the database are of different kinds (SQLite vs PostgreSQL)."""


class BackupCorrupt(BackupError):
    """The backup does not match its manifest: stop, alarm, and use another backup."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class SourceUnavailable(BackupError):
    """The database or the object store went away mid-way: nothing was kept; retry later."""
