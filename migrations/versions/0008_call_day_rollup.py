"""call day roll-up

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 18:30:00.000000

The per-day roll-up of call figures the reports read (``call_day_figures``,
``call_day_line_figures``, ``call_day_lines``, ``call_day_manager_status``, ``call_rolled_days``, ``call_rollup_state``) and the log of changes
that make a rolled-up day stale (``call_day_changes``), written by triggers on calls,
customers and jobs. The triggers fire only for calls that started more than a day ago
(and jobs and customers that touch them): the incoming call's INSERT has none. Two
partial indexes of open jobs (each account manager's load, bookings per day).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a call contributes to the report; a change to anything else leaves its day alone.
CALL_COLUMNS = (
    "started_at", "line_id", "customer_id", "answered_by_id", "disposed_by_id", "result",
    "outcome", "caller_declined", "ring_seconds", "talk_seconds",
)

PG_SETTLED = "now() - interval '24 hours'"
PG_DAY = "(({0}.started_at AT TIME ZONE 'UTC')::date)"


def _pg_complete(row: str) -> str:
    return (
        f"(coalesce({row}.name, '') <> '' AND coalesce({row}.email, '') <> '' "
        f"AND coalesce({row}.phone, '') <> '')"
    )


def _pg_closed(row: str) -> str:
    return (
        f"(CASE {row}.status WHEN 'DELIVERED' THEN {row}.delivered_at "
        f"WHEN 'CANCELLED' THEN {row}.updated_at END)"
    )


PG_UP = [
    f"""
    CREATE OR REPLACE FUNCTION call_day_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.started_at < {PG_SETTLED} THEN
            INSERT INTO call_day_changes (utc_day) VALUES {PG_DAY.format('OLD')};
        END IF;
        IF TG_OP = 'UPDATE' AND NEW.started_at < {PG_SETTLED}
                AND {PG_DAY.format('NEW')} <> {PG_DAY.format('OLD')} THEN
            INSERT INTO call_day_changes (utc_day) VALUES {PG_DAY.format('NEW')};
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER calls_day_changed_update AFTER UPDATE ON calls FOR EACH ROW
    WHEN ((OLD.started_at < {PG_SETTLED} OR NEW.started_at < {PG_SETTLED})
          AND ({', '.join('OLD.' + c for c in CALL_COLUMNS)})
              IS DISTINCT FROM ({', '.join('NEW.' + c for c in CALL_COLUMNS)}))
    EXECUTE FUNCTION call_day_changed()
    """,
    f"""
    CREATE TRIGGER calls_day_changed_delete AFTER DELETE ON calls FOR EACH ROW
    WHEN (OLD.started_at < {PG_SETTLED})
    EXECUTE FUNCTION call_day_changed()
    """,
    f"""
    CREATE OR REPLACE FUNCTION call_day_changed_by_customer() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO call_day_changes (utc_day)
        SELECT DISTINCT {PG_DAY.format('calls')} FROM calls
        WHERE calls.customer_id = NEW.id AND calls.started_at < {PG_SETTLED};
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER customers_day_changed AFTER UPDATE ON customers FOR EACH ROW
    WHEN ({_pg_complete('OLD')} IS DISTINCT FROM {_pg_complete('NEW')})
    EXECUTE FUNCTION call_day_changed_by_customer()
    """,
    # A job makes its customer's calls "status calls" from its creation to its closing
    # (delivery, or its last update once cancelled): log the calls whose flag may flip.
    f"""
    CREATE OR REPLACE FUNCTION call_day_changed_by_job() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        since timestamptz;
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.customer_id = NEW.customer_id
                AND OLD.created_at = NEW.created_at
                AND OLD.account_manager_id IS NOT DISTINCT FROM NEW.account_manager_id THEN
            since := LEAST({_pg_closed('OLD')}, {_pg_closed('NEW')});
            INSERT INTO call_day_changes (utc_day)
            SELECT DISTINCT {PG_DAY.format('calls')} FROM calls
            WHERE calls.customer_id = NEW.customer_id AND calls.started_at >= since
              AND calls.started_at < {PG_SETTLED};
            RETURN NULL;
        END IF;
        IF TG_OP <> 'INSERT' THEN
            INSERT INTO call_day_changes (utc_day)
            SELECT DISTINCT {PG_DAY.format('calls')} FROM calls
            WHERE calls.customer_id = OLD.customer_id AND calls.started_at >= OLD.created_at
              AND calls.started_at < {PG_SETTLED};
        END IF;
        IF TG_OP <> 'DELETE' THEN
            INSERT INTO call_day_changes (utc_day)
            SELECT DISTINCT {PG_DAY.format('calls')} FROM calls
            WHERE calls.customer_id = NEW.customer_id AND calls.started_at >= NEW.created_at
              AND calls.started_at < {PG_SETTLED};
        END IF;
        RETURN NULL;
    END $$
    """,
    f"""
    CREATE TRIGGER jobs_day_changed_insert AFTER INSERT ON jobs FOR EACH ROW
    WHEN (NEW.created_at < {PG_SETTLED})
    EXECUTE FUNCTION call_day_changed_by_job()
    """,
    f"""
    CREATE TRIGGER jobs_day_changed_update AFTER UPDATE ON jobs FOR EACH ROW
    WHEN ((OLD.customer_id, OLD.created_at, OLD.account_manager_id, {_pg_closed('OLD')})
          IS DISTINCT FROM
          (NEW.customer_id, NEW.created_at, NEW.account_manager_id, {_pg_closed('NEW')}))
    EXECUTE FUNCTION call_day_changed_by_job()
    """,
    """
    CREATE TRIGGER jobs_day_changed_delete AFTER DELETE ON jobs FOR EACH ROW
    EXECUTE FUNCTION call_day_changed_by_job()
    """,
]

PG_DOWN = [
    "DROP TRIGGER IF EXISTS jobs_day_changed_delete ON jobs",
    "DROP TRIGGER IF EXISTS jobs_day_changed_update ON jobs",
    "DROP TRIGGER IF EXISTS jobs_day_changed_insert ON jobs",
    "DROP FUNCTION IF EXISTS call_day_changed_by_job()",
    "DROP TRIGGER IF EXISTS customers_day_changed ON customers",
    "DROP FUNCTION IF EXISTS call_day_changed_by_customer()",
    "DROP TRIGGER IF EXISTS calls_day_changed_delete ON calls",
    "DROP TRIGGER IF EXISTS calls_day_changed_update ON calls",
    "DROP FUNCTION IF EXISTS call_day_changed()",
]

# SQLite keeps instants as naive UTC text, which compares like the instants it spells.
LITE_SETTLED = "datetime('now', '-24 hours')"


def _lite_complete(row: str) -> str:
    return (
        f"(coalesce({row}.name, '') <> '' AND coalesce({row}.email, '') <> '' "
        f"AND coalesce({row}.phone, '') <> '')"
    )


def _lite_closed(row: str) -> str:
    return (
        f"(CASE {row}.status WHEN 'DELIVERED' THEN {row}.delivered_at "
        f"WHEN 'CANCELLED' THEN {row}.updated_at END)"
    )


def _lite_customer_days(row: str, since: str) -> str:
    return f"""
        INSERT INTO call_day_changes (utc_day)
        SELECT DISTINCT date(calls.started_at) FROM calls
        WHERE calls.customer_id = {row}.customer_id AND calls.started_at >= {since}
          AND calls.started_at < {LITE_SETTLED};"""


LITE_UP = [
    f"""
    CREATE TRIGGER calls_day_changed_update AFTER UPDATE ON calls FOR EACH ROW
    WHEN (OLD.started_at < {LITE_SETTLED} OR NEW.started_at < {LITE_SETTLED})
      AND ({' OR '.join(f'OLD.{c} IS NOT NEW.{c}' for c in CALL_COLUMNS)})
    BEGIN
        INSERT INTO call_day_changes (utc_day)
        SELECT date(OLD.started_at) WHERE OLD.started_at < {LITE_SETTLED};
        INSERT INTO call_day_changes (utc_day)
        SELECT date(NEW.started_at) WHERE NEW.started_at < {LITE_SETTLED}
          AND date(NEW.started_at) <> date(OLD.started_at);
    END
    """,
    f"""
    CREATE TRIGGER calls_day_changed_delete AFTER DELETE ON calls FOR EACH ROW
    WHEN OLD.started_at < {LITE_SETTLED}
    BEGIN
        INSERT INTO call_day_changes (utc_day) VALUES (date(OLD.started_at));
    END
    """,
    f"""
    CREATE TRIGGER customers_day_changed AFTER UPDATE ON customers FOR EACH ROW
    WHEN {_lite_complete('OLD')} IS NOT {_lite_complete('NEW')}
    BEGIN
        INSERT INTO call_day_changes (utc_day)
        SELECT DISTINCT date(calls.started_at) FROM calls
        WHERE calls.customer_id = NEW.id AND calls.started_at < {LITE_SETTLED};
    END
    """,
    f"""
    CREATE TRIGGER jobs_day_changed_insert AFTER INSERT ON jobs FOR EACH ROW
    WHEN NEW.created_at < {LITE_SETTLED}
    BEGIN{_lite_customer_days('NEW', 'NEW.created_at')}
    END
    """,
    f"""
    CREATE TRIGGER jobs_day_changed_update AFTER UPDATE ON jobs FOR EACH ROW
    WHEN OLD.customer_id IS NOT NEW.customer_id OR OLD.created_at IS NOT NEW.created_at
      OR OLD.account_manager_id IS NOT NEW.account_manager_id
      OR {_lite_closed('OLD')} IS NOT {_lite_closed('NEW')}
    BEGIN{_lite_customer_days('OLD', 'min(OLD.created_at, NEW.created_at)')}{
        _lite_customer_days('NEW', 'min(OLD.created_at, NEW.created_at)')}
    END
    """,
    f"""
    CREATE TRIGGER jobs_day_changed_delete AFTER DELETE ON jobs FOR EACH ROW
    BEGIN{_lite_customer_days('OLD', 'OLD.created_at')}
    END
    """,
]

LITE_DOWN = [
    "DROP TRIGGER IF EXISTS jobs_day_changed_delete",
    "DROP TRIGGER IF EXISTS jobs_day_changed_update",
    "DROP TRIGGER IF EXISTS jobs_day_changed_insert",
    "DROP TRIGGER IF EXISTS customers_day_changed",
    "DROP TRIGGER IF EXISTS calls_day_changed_delete",
    "DROP TRIGGER IF EXISTS calls_day_changed_update",
]


def upgrade() -> None:
    op.create_table('call_day_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('utc_day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_day_changes'))
    )
    op.create_table('call_day_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('disposed_by_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('declined', sa.Boolean(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('status_call', sa.Boolean(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('ring_sum', sa.BigInteger(), nullable=False),
    sa.Column('ring_n', sa.Integer(), nullable=False),
    sa.Column('talk_sum', sa.BigInteger(), nullable=False),
    sa.Column('talk_n', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_day_figures'))
    )
    with op.batch_alter_table('call_day_figures', schema=None) as batch_op:
        batch_op.create_index('ix_call_day_figures_zone_day', ['zone', 'day'], unique=False)

    op.create_table('call_day_line_figures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('disposed_by_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=30), nullable=True),
    sa.Column('declined', sa.Boolean(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('status_call', sa.Boolean(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('ring_sum', sa.BigInteger(), nullable=False),
    sa.Column('ring_n', sa.Integer(), nullable=False),
    sa.Column('talk_sum', sa.BigInteger(), nullable=False),
    sa.Column('talk_n', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_day_line_figures'))
    )
    with op.batch_alter_table('call_day_line_figures', schema=None) as batch_op:
        batch_op.create_index(
            'ix_call_day_line_figures_zone_line_day', ['zone', 'line_id', 'day'], unique=False
        )

    op.create_table('call_day_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_day_lines'))
    )
    with op.batch_alter_table('call_day_lines', schema=None) as batch_op:
        batch_op.create_index('ix_call_day_lines_zone_day', ['zone', 'day'], unique=False)

    op.create_table('call_day_manager_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=False),
    sa.Column('line_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_day_manager_status'))
    )
    with op.batch_alter_table('call_day_manager_status', schema=None) as batch_op:
        batch_op.create_index(
            'ix_call_day_manager_status_zone_manager_day', ['zone', 'manager_id', 'day'],
            unique=False,
        )

    op.create_table('call_rolled_days',
    sa.Column('zone', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('zone', 'day', name=op.f('pk_call_rolled_days'))
    )
    op.create_table('call_rollup_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_call_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_rollup_state'))
    )
    open_jobs = sa.text("status IN ('OPEN', 'IN_PROGRESS')")
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(
            'ix_jobs_open_manager', ['account_manager_id'], unique=False,
            postgresql_include=['id'], postgresql_where=open_jobs, sqlite_where=open_jobs,
        )
        batch_op.create_index(
            'ix_jobs_open_eta_date', ['eta_date'], unique=False, postgresql_include=['id'],
            postgresql_where=open_jobs, sqlite_where=open_jobs,
        )
    statements = PG_UP if op.get_bind().dialect.name == "postgresql" else LITE_UP
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    statements = PG_DOWN if op.get_bind().dialect.name == "postgresql" else LITE_DOWN
    for statement in statements:
        op.execute(statement)
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_open_eta_date')
        batch_op.drop_index('ix_jobs_open_manager')
    op.drop_table('call_rollup_state')
    op.drop_table('call_rolled_days')
    with op.batch_alter_table('call_day_manager_status', schema=None) as batch_op:
        batch_op.drop_index('ix_call_day_manager_status_zone_manager_day')
    op.drop_table('call_day_manager_status')
    with op.batch_alter_table('call_day_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_call_day_lines_zone_day')
    op.drop_table('call_day_lines')
    with op.batch_alter_table('call_day_line_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_call_day_line_figures_zone_line_day')
    op.drop_table('call_day_line_figures')
    with op.batch_alter_table('call_day_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_call_day_figures_zone_day')
    op.drop_table('call_day_figures')
    op.drop_table('call_day_changes')
