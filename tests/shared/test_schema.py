"""The migrations create exactly the schema the code declares (drift fails loudly)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shared.db.engine import (
    SchemaOutOfDate,
    create_engine,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    migrate,
    normalize_url,
    redact_url,
)
from shared.db.schema import metadata


def test_migrations_match_the_declared_schema(db_url: str) -> None:
    engine = create_engine(db_url)
    before, after = migrate(engine)
    assert (before, after) == (None, head_revision())
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), metadata
        )
    engine.dispose()
    assert diff == []


def test_migrate_is_idempotent_and_downgradable(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    migrate(engine)
    assert migrate(engine) == (head_revision(), head_revision())
    assert downgrade(engine, "base") == (head_revision(), None)
    assert current_revision(engine) is None
    engine.dispose()


def test_refuses_an_out_of_date_schema_unless_told_to_migrate(sqlite_url: str) -> None:
    import pytest

    engine = create_engine(sqlite_url)
    with pytest.raises(SchemaOutOfDate, match="edge-node db migrate"):
        ensure_schema(engine, auto_migrate=False)
    ensure_schema(engine, auto_migrate=True)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_urls() -> None:
    assert normalize_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert "secret" not in redact_url("postgresql://u:secret@h/db")
