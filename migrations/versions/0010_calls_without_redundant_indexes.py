"""calls without its four redundant single-column indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:20:00.000000

``ix_calls_line_id``, ``ix_calls_caller_number``, ``ix_calls_customer_id`` and
``ix_calls_answered_by_id`` each repeat the first column of a composite index the call log
already keeps (``ix_calls_line_started``, ``ix_calls_caller_started``,
``ix_calls_customer_started``, ``ix_calls_answered_by_started``), which serves a lookup by
that column alone. Every incoming call paid for their upkeep: with a million calls, each
INSERT wrote to a random leaf page of three of them.
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REDUNDANT = {
    "ix_calls_line_id": "line_id",
    "ix_calls_caller_number": "caller_number",
    "ix_calls_customer_id": "customer_id",
    "ix_calls_answered_by_id": "answered_by_id",
}


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        for name in REDUNDANT:
            batch_op.drop_index(name)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        for name, column in REDUNDANT.items():
            batch_op.create_index(name, [column], unique=False)
