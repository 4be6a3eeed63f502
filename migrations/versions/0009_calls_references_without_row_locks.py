"""calls' line and customer without foreign-key row locks on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 22:10:00.000000

On PostgreSQL a foreign-key check locks the referenced row (``FOR KEY SHARE``): every
incoming call's INSERT locked its line's row and its customer's row. The thousand lines
sit on a few pages that every call then writes, two calls on one line at once need a
MultiXact, and each customer's lock dirties a random page of customers (WAL, a full-page
image after each checkpoint, the page's all-visible bit cleared). The two constraints go;
the columns keep their indexes. The product never deletes a line or a customer; if one is
deleted by hand, these triggers do what ``ON DELETE SET NULL`` did. SQLite keeps its
foreign keys (a check there is an index lookup, without row locks).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (referenced table, calls column, constraint name)
REFERENCES = (
    ("lines", "line_id", "fk_calls_line_id_lines"),
    ("customers", "customer_id", "fk_calls_customer_id_customers"),
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, constraint in REFERENCES:
        op.drop_constraint(constraint, "calls", type_="foreignkey")
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION calls_forget_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE calls SET {column} = NULL WHERE {column} = OLD.id;
                RETURN NULL;
            END $$
            """
        )
        op.execute(
            f"CREATE TRIGGER {table}_deleted_forget_calls AFTER DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION calls_forget_{table}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, constraint in REFERENCES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_deleted_forget_calls ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS calls_forget_{table}()")
        # A reference left dangling by a delete that raced a call cannot be restored.
        op.execute(
            f"UPDATE calls SET {column} = NULL WHERE {column} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {table} WHERE {table}.id = calls.{column})"
        )
        op.create_foreign_key(constraint, "calls", table, [column], ["id"], ondelete="SET NULL")
