"""reports indexes and early feedback

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 15:30:00.000000

Customers' answers to feedback links move to a table of their own (one per job and
stage: early, from the introduction email, and at delivery); answers already given at
delivery are copied over. Indexes for the reports' period filters.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_feedback',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.Enum('EARLY', 'DELIVERED', name='feedbackstage', native_enum=False, length=20), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('enquiry_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enquiry_id'], ['enquiries.id'], name=op.f('fk_job_feedback_enquiry_id_enquiries'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_job_feedback_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_feedback')),
    sa.UniqueConstraint('job_id', 'stage', name=op.f('uq_job_feedback_job_id_stage'))
    )
    op.create_index('ix_job_feedback_at', 'job_feedback', ['at'], unique=False)
    op.execute(
        "INSERT INTO job_feedback (job_id, stage, rating, comment, at) "
        "SELECT id, 'DELIVERED', feedback_rating, feedback_comment, feedback_at FROM jobs "
        "WHERE feedback_at IS NOT NULL AND feedback_rating IS NOT NULL"
    )
    op.create_index('ix_jobs_delivered_at', 'jobs', ['delivered_at'], unique=False)
    op.create_index('ix_enquiries_created_at', 'enquiries', ['created_at'], unique=False)
    op.create_index('ix_audit_log_action_at', 'audit_log', ['action', 'at'], unique=False)
    op.create_index('ix_outbound_emails_kind_sent', 'outbound_emails', ['kind', 'sent_at'], unique=False)
    op.create_index('ix_tasks_kind_created', 'tasks', ['kind', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tasks_kind_created', table_name='tasks')
    op.drop_index('ix_outbound_emails_kind_sent', table_name='outbound_emails')
    op.drop_index('ix_audit_log_action_at', table_name='audit_log')
    op.drop_index('ix_enquiries_created_at', table_name='enquiries')
    op.drop_index('ix_jobs_delivered_at', table_name='jobs')
    op.drop_index('ix_job_feedback_at', table_name='job_feedback')
    op.drop_table('job_feedback')
