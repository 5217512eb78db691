"""The store's PostgreSQL password, rotated with two alternating roles.

The secret is an RDS-style JSON object (``engine``, ``host``, ``port``, ``username``,
``password``, ``dbname``, ``masterarn``: the id of a secret holding an administrator's
credentials in the same shape). Two roles share the same rights: ``<user>`` and
``<user>_clone``. Each rotation gives a new password to the role that is *not* current and
makes it current, so the credentials everyone holds keep working until the next rotation: a
consumer that has not yet re-read the secret never sees a refusal in between.

setSecret logs in as the administrator only after checking that the pending user is the
current user's alternate on the same server, and that the current credentials work (a secret
edited to point elsewhere must not make us change another role's password). A clone that does
not exist yet is created as a member of the current role that acts as it (``SET role``), so
that what either role creates belongs to the same owner. The administrator's login refused
(its secret's password changed, its user dropped) is ``AdminSecretRefused``: one line for the
operator, who must fix that secret; nothing is changed. Logged in, an administrator without
the rights to create or alter the role (no CREATEROLE, no CONNECT on the database) is
``AdminLacksRights``, a read-only database (a replica) ``DatabaseReadOnly``, and the server
ending the work part way ``Unavailable``: each one line, nothing committed (one transaction),
the pending version still pending (``pg_errors``).

On a fresh database the application's role does not exist yet: the secret names it with the
password the deployment generated (infra/secrets.py), and its first rotation creates it. The
current credentials being refused, setSecret asks the administrator whether that role exists;
only if neither it nor its alternate does, it creates the role with that password and the
rights the store needs (``first_user.FIRST_USER_RIGHTS``), checks that each grant took (a
grant by an administrator that does not own the database only warns: ``AdminLacksRights``
naming the grant, nothing committed), then creates the clone as above. A role that exists but
refuses the current password is still refused: we never overwrite a password we cannot
verify, and a role left without its alternate is not recreated.

A login the operator must fix is never "unavailable, retry later": the secret's database
missing on the server is ``BadInput`` (fix the secret's ``dbname``), the administrator's role
not permitted to log in ``AdminLacksRights`` (give it LOGIN). An application role without
LOGIN is a refused login like a wrong password (setSecret gives the alternate LOGIN again).

The login records and the alternating names and passwords are ``db_login``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from functions.common.errors import BadInput, Unavailable
from functions.common.secrets import is_auth_refusal
from functions.rotation.db_login import (
    Administrator,
    AdminSecretRefused,
    DbLogin,
    alternate,
    new_password,
    secret_object,
)
from functions.rotation.first_user import FIRST_USER_RIGHTS, not_taken
from functions.rotation.pg_errors import (
    INSUFFICIENT_PRIVILEGE,
    Work,
    connect_denied,
    database_missing,
    lacks_rights,
    login_not_permitted,
    named,
    reason,
)
from functions.rotation.staging import RotationRefused
from functions.rotation.token import PendingSecretRefused

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)


def _refused(err: BaseException) -> bool:
    """The server refused the login itself (a wrong password, no such role, a role without
    LOGIN): the credentials do not work, which is no outage."""
    return is_auth_refusal(err) or login_not_permitted(err)


class DatabaseRotator:
    """Alternating-users rotation; ``read_secret(id)`` gives a secret's AWSCURRENT text (the
    administrator's), uncached."""

    def __init__(self, read_secret: Callable[[str], str], connect_timeout_s: float = 5.0) -> None:
        self.read_secret = read_secret
        self.connect_timeout_s = connect_timeout_s

    @contextmanager
    def connect(
        self, login: DbLogin, *, admin_secret: str | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """A connection as ``login``: ``Unavailable`` if the server cannot be reached;
        ``BadInput`` if its database does not exist; a refused login (``_refused``) is the
        driver's error, or for the administrator (the ``admin_secret`` it came from)
        ``AdminSecretRefused``, or ``AdminLacksRights`` if its role may not log in or connect
        to the database."""
        import psycopg

        # the secret's sslmode if it names one; else libpq's PGSSLMODE (the stack's require)
        tls: dict[str, Any] = {"sslmode": login.sslmode} if login.sslmode else {}
        try:
            conn = psycopg.connect(
                host=login.host,
                port=login.port,
                dbname=login.dbname,
                user=login.username,
                password=login.password,
                **tls,
                connect_timeout=max(1, int(self.connect_timeout_s)),
                application_name="edge-ops-rotation",
            )
        except psycopg.OperationalError as err:
            if database_missing(err):
                raise BadInput(
                    f"the database {login.dbname!r} does not exist at {login.host}:{login.port}: "
                    "fix the database secret's dbname (the database the store's tables are in), "
                    "then run the rotation again; nothing was changed"
                ) from None
            if admin_secret is not None and login_not_permitted(err):
                work = Work(f"{login.host}:{login.port}", "log in", login.username, admin_secret)
                raise lacks_rights(
                    work,
                    f"its role {login.username!r} is not permitted to log in",
                    f"Give it LOGIN (ALTER ROLE {login.username} LOGIN, run by a superuser or "
                    "the RDS master user)",
                ) from None
            if is_auth_refusal(err) and admin_secret is not None:
                raise AdminSecretRefused(
                    f"the database at {login.host}:{login.port} refused the administrator's "
                    f"login as {login.username} (secret {admin_secret!r}, the database secret's "
                    "masterarn): fix that secret's username or password, then run the rotation "
                    "again; nothing was changed"
                ) from None
            if _refused(err):
                raise
            if admin_secret is not None and connect_denied(err):
                work = Work(
                    f"{login.host}:{login.port}",
                    f"connect to the database {login.dbname}",
                    login.username,
                    admin_secret,
                )
                raise lacks_rights(
                    work,
                    f"permission denied for database {login.dbname!r}",
                    f"Grant it CONNECT (GRANT CONNECT ON DATABASE {login.dbname} TO "
                    f"{login.username})",
                ) from None
            raise Unavailable(
                f"the database at {login.host}:{login.port} is unavailable: "
                f"{str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}"
            ) from None
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _session(self, login: DbLogin, work: Work) -> Iterator[psycopg.Connection[Any]]:
        """``connect`` (as the administrator if ``work`` names one), and the driver's errors
        met during ``work`` as the errors an operator acts on (``pg_errors``); a bug's stay
        the driver's."""
        import psycopg

        with self.connect(login, admin_secret=work.admin_secret) as conn:
            try:
                yield conn
            except psycopg.Error as err:
                found = named(err, work, operational=isinstance(err, psycopg.OperationalError))
                if found is None:
                    raise
                raise found from None

    def can_login(self, login: DbLogin) -> bool:
        """True if ``login`` works; False if the server refuses it; ``Unavailable`` if the
        server cannot be asked (then nobody must conclude the password is wrong)."""
        import psycopg

        work = Work(f"{login.host}:{login.port}", f"log in as {login.username}")
        try:
            with self._session(login, work) as conn:
                conn.execute("SELECT 1")
        except psycopg.OperationalError as err:
            if _refused(err):
                return False
            raise
        return True

    def create(self, current: str) -> str:
        fields = secret_object(current, "the current database secret")
        DbLogin.parse(fields, "the current database secret")  # complete before we build on it
        fields["username"] = alternate(str(fields["username"]))
        fields["password"] = new_password()
        return json.dumps(fields)

    def set(self, current: str, pending: str) -> bool:
        cur = DbLogin.parse(current, "the current database secret")
        new = DbLogin.parse(pending, "the pending database secret")
        # checked before any login with the pending password: it goes to no other server
        if new.username != alternate(cur.username):
            raise RotationRefused(
                f"the pending user {new.username!r} is not the alternate of the current user "
                f"{cur.username!r}"
            )
        if (new.host, new.port, new.dbname) != (cur.host, cur.port, cur.dbname):
            raise RotationRefused("the pending secret names another database than the current")
        if self.can_login(new):
            return False  # set already (a replay, or an interrupted step that got that far)
        admin = self._administrator(current, cur)
        if not self.can_login(cur) and not self._create_first_user(admin, cur):
            raise RotationRefused(
                f"the current credentials ({cur.username}) are refused: the rotation will not "
                "change a role's password for a secret it cannot verify"
            )
        self._set_password(admin, cur.username, new.username, new.password)
        return True

    def _administrator(self, current: str, cur: DbLogin) -> Administrator:
        """The credentials of the secret ``masterarn`` names, on the current database."""
        master_id = secret_object(current, "the current database secret").get("masterarn")
        if not master_id:
            raise BadInput(
                "the database secret has no masterarn (the id of the administrator's secret "
                "that may set the alternate role's password)"
            )
        admin = DbLogin.parse(self.read_secret(str(master_id)), f"secret {master_id!r}")
        if (admin.host, admin.port) != (cur.host, cur.port):
            raise RotationRefused("the administrator's secret names another server")
        login = DbLogin(
            admin.host, admin.port, cur.dbname, admin.username, admin.password, admin.sslmode
        )
        return Administrator(login, str(master_id))

    def _create_first_user(self, admin: Administrator, first: DbLogin) -> bool:
        """Create the role ``first`` names, with its password, if neither it nor its alternate
        exists (a fresh database); False if it exists (then its password is wrong)."""
        import psycopg
        from psycopg import sql

        user, clone = first.username, alternate(first.username)
        work = admin.work(f"create the application's role {user}")
        with self._session(admin.login, work) as conn, conn.transaction():
            rows = conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname IN (%s, %s)", (user, clone)
            ).fetchall()
            existing = {str(r[0]) for r in rows}
            if user in existing:
                return False
            if existing:
                raise RotationRefused(
                    f"the role {user!r} does not exist but its alternate {clone!r} does: "
                    "restore it, or store the alternate's credentials as the current ones"
                )
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(first.password)
                )
            )
            names = {"user": user, "db": first.dbname}
            for right in FIRST_USER_RIGHTS:
                try:
                    conn.execute(
                        sql.SQL(right.grant).format(
                            user=sql.Identifier(user), db=sql.Identifier(first.dbname)
                        )
                    )
                except psycopg.Error as err:
                    # refused outright (PostgreSQL 16: a CREATEROLE administrator may grant
                    # CREATEDB only if it holds it): this right's advice, not CREATEROLE's
                    if err.sqlstate != INSUFFICIENT_PRIVILEGE:
                        raise
                    raise lacks_rights(
                        work,
                        f"{right.statement(user, first.dbname)} was refused: {reason(err)}",
                        right.advice(admin.login.username, first.dbname),
                    ) from None
            for right in FIRST_USER_RIGHTS:  # a GRANT that takes nothing only warns
                held = conn.execute(right.held, names).fetchone()
                if not (held and held[0]):
                    raise lacks_rights(
                        work,
                        not_taken(user, first.dbname, right),
                        right.advice(admin.login.username, first.dbname),
                    )
        log.info("created the application's first role %s on %s", user, first.host)
        return True

    def _set_password(
        self, admin: Administrator, current_user: str, user: str, password: str
    ) -> None:
        from psycopg import sql

        # Utility statements take no bind parameters: the password is a quoted literal, the
        # statement is never logged.
        work = admin.work(f"create or alter the role {user}")
        with self._session(admin.login, work) as conn, conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
            if exists:
                conn.execute(
                    sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                        sql.Identifier(user), sql.Literal(password)
                    )
                )
                return
            conn.execute(
                sql.SQL("CREATE ROLE {} WITH LOGIN PASSWORD {}").format(
                    sql.Identifier(user), sql.Literal(password)
                )
            )
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(sql.Identifier(current_user), sql.Identifier(user))
            )
            conn.execute(
                sql.SQL("ALTER ROLE {} SET role = {}").format(
                    sql.Identifier(user), sql.Literal(current_user)
                )
            )

    def test(self, pending: str) -> None:
        import psycopg

        new = DbLogin.parse(pending, "the pending database secret")
        work = Work(f"{new.host}:{new.port}", f"log in as {new.username}")
        try:
            with self._session(new, work) as conn:
                row = conn.execute("SELECT session_user, now()").fetchone()
        except psycopg.OperationalError as err:
            if _refused(err):
                raise PendingSecretRefused(
                    f"the database refused the pending credentials of {new.username}"
                ) from None
            raise
        if row is None or row[0] != new.username:
            raise PendingSecretRefused(f"logged in, but not as {new.username}")
