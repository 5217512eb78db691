"""Fixtures shared by the whole suite: databases (SQLite and the real PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from shared.db.engine import normalize_url
from tests.support.prerequisites import missing
from tests.support.scram_pg import ScramPostgres

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_PG


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/edge.db"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards.

    Uses DATABASE_URL when set (the machine's server at 127.0.0.1:5432/test otherwise) and
    needs nothing beyond CREATE on that database, so it works on any server a CI gives us.
    """
    base = normalize_url(postgres_base_url())
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa_create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:
        admin.dispose()
        pytest.fail(f"PostgreSQL at {make_url(base).render_as_string()} is not usable: {err}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    request.applymarker(pytest.mark.postgres)
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto as an HTTP endpoint (URL returned), so that processes the tests start (the CLI)
    reach the same emulated AWS as the node running in the test."""
    from moto.server import ThreadedMotoServer

    for key, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ):
        os.environ.setdefault(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def scram_pg() -> Iterator[ScramPostgres]:
    """A private PostgreSQL that checks passwords (the shared one trusts every login), for
    tests where a refused password must be possible: rotation. Needs initdb and pg_ctl."""
    from tests.support.scram_pg import binaries, scram_postgres

    if binaries() is None:
        missing("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    with scram_postgres() as server:
        yield server
