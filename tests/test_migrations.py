"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import uuid
import warnings
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Constraint, Index, inspect, make_url, text

import models
from models import make_engine
from routing.cli.db import alembic_config, upgrade

# Tables other software owns in the same database (APScheduler's job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def _including(dialect: str):
    def include(obj, name, type_, reflected, compare_to) -> bool:
        if type_ == "table":
            return name not in FOREIGN_TABLES
        if type_ == "foreign_key_constraint" and compare_to is None and not reflected:
            # A constraint of the models (ddl_if) that this database does not build.
            return built_on(obj, dialect)
        return True

    return include


def built_on(item: Index | Constraint, dialect: str) -> bool:
    """Whether the index or constraint is created on ``dialect`` (``ddl_if(dialect=...)``)."""
    condition = item._ddl_if  # where SQLAlchemy keeps what ddl_if() was given
    if condition is None or condition.dialect is None:
        return True
    allowed = condition.dialect
    return dialect == allowed if isinstance(allowed, str) else dialect in allowed


def differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            # Alembic cannot reflect expression indexes on SQLite and warns, before any
            # include_object filter, that it skips them. For an index the models never
            # create on this database (PostgreSQL-only trigram indexes) there is nothing
            # to compare: silence exactly those warnings, no others.
            for table in models.Base.metadata.tables.values():
                for index in table.indexes:
                    if not built_on(index, conn.dialect.name):
                        warnings.filterwarnings(
                            "ignore",
                            message=re.escape(
                                f"autogenerate skipping metadata-specified expression-based "
                                f"index {index.name!r};"
                            ),
                            category=UserWarning,
                        )
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _including(conn.dialect.name)}
            )
            return compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()


def index_method_differences(url: str) -> list[str]:
    """Index access methods and operator classes that differ from the models.

    Alembic compares an index's columns and expressions but not ``USING`` or operator
    classes, so a btree where the models ask for a trigram GIN index would pass unseen.
    """
    engine = make_engine(url)
    found = []
    try:
        inspector = inspect(engine)
        for table in models.Base.metadata.sorted_tables:
            reflected = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if not built_on(index, engine.dialect.name) or index.name not in reflected:
                    continue  # a missing index is compare_metadata's to report
                options = index.dialect_options["postgresql"]
                want_using = options["using"] or "btree"
                want_ops = [
                    options["ops"].get(getattr(expr, "key", None)) for expr in index.expressions
                ]
                ix = reflected[index.name]
                got_using = ix.get("dialect_options", {}).get("postgresql_using", "btree")
                got_ops_by_key = ix.get("dialect_options", {}).get("postgresql_ops", {})
                keys = ix.get("expressions") or ix["column_names"]
                got_ops = [got_ops_by_key.get(key) for key in keys]
                if (want_using, want_ops) != (got_using, got_ops):
                    found.append(
                        f"{index.name}: USING {got_using} {got_ops}, "
                        f"models say USING {want_using} {want_ops}"
                    )
    finally:
        engine.dispose()
    return found


def test_upgrade_head_on_empty_sqlite_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    assert differences(url) == []
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            indexes = set(conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index'")))
    finally:
        engine.dispose()
    assert set(models.Base.metadata.tables) <= tables
    postgresql_only = {
        index.name
        for table in models.Base.metadata.tables.values()
        for index in table.indexes
        if not built_on(index, "sqlite")
    }
    assert postgresql_only and not postgresql_only & indexes


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A brand-new PostgreSQL database next to the test database, dropped afterwards."""
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        pytest.skip("needs TEST_DATABASE_URL pointing at PostgreSQL")
    name = f"sb_migrations_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.postgres
def test_upgrade_head_on_empty_postgresql_matches_the_models(fresh_postgres_url):
    upgrade(fresh_postgres_url)
    assert differences(fresh_postgres_url) == []
    assert index_method_differences(fresh_postgres_url) == []


@pytest.mark.postgres
def test_upgrade_where_pg_trgm_cannot_be_created_goes_on_without_the_search_indexes(
    fresh_postgres_url, caplog
):
    """No privilege for the extension must not fail a deploy: search works unindexed."""
    engine = make_engine(fresh_postgres_url)
    try:
        with engine.begin() as conn:
            # pg_trgm defines similarity(text, text): one already there makes CREATE
            # EXTENSION fail as a refused privilege would, without a role to set up.
            conn.execute(
                text(
                    "CREATE FUNCTION similarity(text, text) RETURNS real "
                    "LANGUAGE sql AS 'SELECT 0::real'"
                )
            )
        upgrade(fresh_postgres_url)
        with engine.connect() as conn:
            version = conn.scalar(text("SELECT version_num FROM alembic_version"))
            extensions = conn.scalars(text("SELECT extname FROM pg_extension")).all()
            indexes = conn.scalars(text("SELECT indexname FROM pg_indexes")).all()
    finally:
        engine.dispose()
    head = ScriptDirectory.from_config(alembic_config(fresh_postgres_url)).get_current_head()
    assert version == head
    assert "pg_trgm" not in extensions
    assert not [name for name in indexes if name.endswith("_trgm")]
    assert "pg_trgm could not be created" in caplog.text


def test_a_model_change_without_migration_would_be_caught(tmp_path):
    """The check is not vacuous: a column missing from the database shows as a difference."""
    url = f"sqlite:///{tmp_path / 'drifted.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE holidays DROP COLUMN name"))
    finally:
        engine.dispose()
    found = differences(url)
    assert any(diff[0] == "add_column" and diff[3].name == "name" for diff in found), found
