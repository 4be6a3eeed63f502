"""account manager's day, call log and SLA warnings

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:00:00.000000

Indexes for the call log's keyset pages under each filter (line, coordinator, caller,
customer: each ends with started_at, id), for the home page's cuts of open jobs by ETA and
recent feedback, for tasks and enquiries by assignee/owner, and the column that records
the missed-enquiry warning at 80 % of the SLA.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_calls_line_started", "calls", ["line_id", "started_at", "id"]),
    ("ix_calls_answered_by_started", "calls", ["answered_by_id", "started_at", "id"]),
    ("ix_calls_caller_started", "calls", ["caller_number", "started_at", "id"]),
    ("ix_calls_customer_started", "calls", ["customer_id", "started_at", "id"]),
    ("ix_calls_outcome_started", "calls", ["outcome", "started_at", "id"]),
    ("ix_jobs_status_eta_date", "jobs", ["status", "eta_date"]),
    ("ix_jobs_status_eta_at", "jobs", ["status", "eta_at"]),
    ("ix_jobs_manager_status_eta_date", "jobs", ["account_manager_id", "status", "eta_date"]),
    ("ix_jobs_manager_status_eta_at", "jobs", ["account_manager_id", "status", "eta_at"]),
    ("ix_jobs_feedback_at", "jobs", ["feedback_at"]),
    ("ix_tasks_assignee_status_due", "tasks", ["assignee_id", "status", "due_at"]),
    ("ix_enquiries_owner_status", "enquiries", ["owner_id", "status"]),
)


def upgrade() -> None:
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sla_warning_sent_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)
    op.create_index(
        "ix_customers_email_undeliverable",
        "customers",
        ["id"],
        unique=False,
        postgresql_where=sa.text("email_undeliverable"),
        sqlite_where=sa.text("email_undeliverable"),
    )


def downgrade() -> None:
    op.drop_index("ix_customers_email_undeliverable", table_name="customers")
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("enquiries", schema=None) as batch_op:
        batch_op.drop_column("sla_warning_sent_at")
