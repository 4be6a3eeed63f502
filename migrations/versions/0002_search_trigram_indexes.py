"""search trigram indexes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00.000000

PostgreSQL only: trigram GIN indexes on the lowercased name, email and company of
customers and on the lowercased job reference, so the console search's
``lower(x) LIKE '%fragment%'`` reads an index instead of the whole table. They need the
pg_trgm extension (trusted since PostgreSQL 13: the database owner may create it).
Where it cannot be created the deploy goes on without the indexes: search still works,
unindexed, and a warning says so.
"""
import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

# (index, table, column): each index is on lower(column), the expression search filters on.
TRIGRAM_INDEXES = (
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_customers_email_trgm", "customers", "email"),
    ("ix_customers_company_trgm", "customers", "company"),
    ("ix_jobs_reference_trgm", "jobs", "reference"),
)


def _create_extension(bind: sa.Connection) -> bool:
    """Whether pg_trgm is installed now; a refusal leaves the transaction usable."""
    try:
        # A failed statement aborts a PostgreSQL transaction; rolling back to the
        # savepoint lets the rest of the deploy's migrations run.
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as error:
        log.warning(
            "Extension pg_trgm could not be created: search by name, email, company and "
            "job reference stays unindexed. To index it, have a superuser or the database "
            "owner run CREATE EXTENSION pg_trgm, then downgrade to 0001 and upgrade again "
            "(or create the indexes of migration 0002 by hand). PostgreSQL said: %s",
            str(error.orig).strip(),
        )
        return False
    return True


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    if context.is_offline_mode():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    elif not _create_extension(op.get_bind()):
        return
    for name, table, column in TRIGRAM_INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (lower({column}) gin_trgm_ops)")


def downgrade() -> None:
    # The extension stays: other objects of the database may use it.
    if op.get_context().dialect.name != "postgresql":
        return
    for name, _table, _column in reversed(TRIGRAM_INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")
