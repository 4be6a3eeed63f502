"""delivery capacity

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 15:30:00.000000

Daily delivery capacity (one settings row and one row per day with a capacity of its
own) and the ETA overrides: jobs given a day that had no room, with who, why and the load.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('delivery_capacity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('per_day', sa.Integer(), nullable=True),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('per_day >= 0', name=op.f('ck_delivery_capacity_per_day_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_capacity'))
    )
    op.create_table('delivery_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('jobs', sa.Integer(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('jobs >= 0', name=op.f('ck_delivery_days_jobs_not_negative')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_delivery_days'))
    )
    op.create_table('eta_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('eta_change_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['eta_change_id'], ['eta_changes.id'], name=op.f('fk_eta_overrides_eta_change_id_eta_changes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_eta_overrides_job_id_jobs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eta_overrides'))
    )
    with op.batch_alter_table('eta_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eta_overrides_job_id'), ['job_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('eta_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eta_overrides_job_id'))
    op.drop_table('eta_overrides')
    op.drop_table('delivery_days')
    op.drop_table('delivery_capacity')
