"""The rights the application's first role is given on a fresh database, and how to tell that
a grant took.

PostgreSQL does not refuse a ``GRANT`` whose grantor neither owns the object nor holds the
right ``WITH GRANT OPTION``: it only warns "no privileges were granted" and carries on. An
administrator that may create roles (``CREATEROLE``) but does not own the database (nor,
hence, its schema ``public``, which belongs to the database's owner from PostgreSQL 15) would
create a role that cannot create the store's tables, and nobody would know until the node's
migrations failed. So each right comes with the question that shows it is held (``held``: a
query on the role's effective privileges, PUBLIC's included), asked in the same transaction
after granting; the first one not held fails the creation (``database``) before anything is
committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import LiteralString


@dataclass(frozen=True, slots=True)
class Right:
    grant: LiteralString  # the statement; ``{user}`` and ``{db}`` are identifiers
    held: LiteralString  # a query answering one boolean; ``%(user)s``, ``%(db)s`` parameters
    remedy: str  # what the administrator needs; ``{admin}``, ``{db}`` names

    def statement(self, user: str, db: str) -> str:
        """The statement as a message shows it (names unquoted; nothing secret in it)."""
        return self.grant.format(user=user, db=db)

    def advice(self, admin: str, db: str) -> str:
        return self.remedy.format(admin=admin, db=db)


_OWN_DATABASE = (
    "Make it the owner of the database {db} (ALTER DATABASE {db} OWNER TO {admin}, run by a "
    "superuser or the RDS master user; the schema public belongs to the database's owner)"
)

# What the application's first role may do beyond logging in (a fresh database only): create
# the store's tables in the public schema (PostgreSQL 15 took CREATE there from PUBLIC), and
# create the scratch databases that the backup verification and drill restore into
# (functions/backup/scratch.py). No CREATEROLE, no membership in the administrator's roles.
FIRST_USER_RIGHTS: tuple[Right, ...] = (
    Right(
        "ALTER ROLE {user} CREATEDB",
        "SELECT rolcreatedb FROM pg_roles WHERE rolname = %(user)s",
        "Give it CREATEDB (ALTER ROLE {admin} CREATEDB, run by a superuser or the RDS master user)",
    ),
    Right(
        "GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {user}",
        "SELECT has_database_privilege(%(user)s, %(db)s, 'CONNECT') "
        "AND has_database_privilege(%(user)s, %(db)s, 'TEMPORARY')",
        _OWN_DATABASE,
    ),
    Right(
        "GRANT USAGE, CREATE ON SCHEMA public TO {user}",
        "SELECT has_schema_privilege(%(user)s, 'public', 'USAGE') "
        "AND has_schema_privilege(%(user)s, 'public', 'CREATE')",
        _OWN_DATABASE,
    ),
)


def not_taken(user: str, db: str, right: Right) -> str:
    """Why ``right`` is missing after its grant (for ``AdminLacksRights``)."""
    return (
        f"{right.statement(user, db)} did not take ({user} does not hold it afterwards: "
        'PostgreSQL only warns "no privileges were granted" when the grantor neither owns '
        "the object nor holds the right WITH GRANT OPTION)"
    )
