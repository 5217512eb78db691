"""A private PostgreSQL cluster that checks passwords (scram-sha-256), for rotation tests.

The machine's PostgreSQL at 127.0.0.1:5432 trusts every local login: a rotated password
could not be refused there, so a rotation test against it could never fail. This starts the
same PostgreSQL binaries (``initdb``, ``pg_ctl``) on a free loopback port in a temporary
directory, with password authentication for every connection, and removes it afterwards.
PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.process import free_port

ADMIN = "postgres"


@dataclass(frozen=True)
class ScramPostgres:
    host: str
    port: int
    admin_user: str
    admin_password: str
    dbname: str = "postgres"

    def url(self, user: str, password: str, dbname: str | None = None) -> str:
        return f"postgresql://{user}:{password}@{self.host}:{self.port}/{dbname or self.dbname}"

    @property
    def admin_url(self) -> str:
        return self.url(self.admin_user, self.admin_password)

    def login(self, user: str, password: str, dbname: str | None = None) -> dict[str, object]:
        """An RDS-style secret value for ``user``."""
        return {
            "engine": "postgres",
            "host": self.host,
            "port": self.port,
            "username": user,
            "password": password,
            "dbname": dbname or self.dbname,
        }


def binaries() -> tuple[str, str] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        for base in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            if (base / "initdb").exists():
                return str(base / "initdb"), str(base / "pg_ctl")
        return None
    return initdb, pg_ctl


@contextmanager
def scram_postgres() -> Iterator[ScramPostgres]:
    found = binaries()
    if found is None:
        raise RuntimeError("initdb/pg_ctl not found: install PostgreSQL's server binaries")
    initdb, pg_ctl = found
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", ADMIN, "--"] if as_root else []
    root = Path(tempfile.mkdtemp(prefix="scram-pg-"))
    password = secrets.token_hex(16)
    (root / "pw").write_text(password + "\n")
    if as_root:
        user = pwd.getpwnam(ADMIN)
        for path in (root, root / "pw"):
            os.chown(path, user.pw_uid, user.pw_gid)
    data, port = root / "data", free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", ADMIN, "--auth=scram-sha-256",
             f"--pwfile={root / 'pw'}", "-N", "-E", "UTF8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "log"), "-w",
             "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        try:
            yield ScramPostgres("127.0.0.1", port, ADMIN, password)
        finally:
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                check=False, capture_output=True, timeout=60,
            )  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
