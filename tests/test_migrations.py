"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, make_url, text

import models
from models import make_engine
from routing.cli.db import upgrade

# Tables other software owns in the same database (APScheduler's job store).
FOREIGN_TABLES = {"apscheduler_jobs"}


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES)


def differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _include}
            )
            return compare_metadata(context, models.Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_head_on_empty_sqlite_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    assert differences(url) == []
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(models.Base.metadata.tables) <= tables


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
