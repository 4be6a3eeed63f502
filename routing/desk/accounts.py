"""Account managers for the "account management" outcome: a chosen one or the least loaded."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import OPEN_JOB_STATUSES, Job, Role, User
from notifications.jobs import least_loaded_manager


def account_managers_with_load(session: Session) -> list[tuple[User, int]]:
    """Active account managers and their open-job count, for the form's choice list."""
    open_jobs = (
        select(Job.account_manager_id, func.count(Job.id).label("n"))
        .where(Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Job.account_manager_id)
        .subquery()
    )
    rows = session.execute(
        select(User, func.coalesce(open_jobs.c.n, 0))
        .outerjoin(open_jobs, open_jobs.c.account_manager_id == User.id)
        .where(User.role == Role.ACCOUNT_MANAGER, User.active.is_(True))
        .order_by(User.name)
    )
    return [(user, int(load)) for user, load in rows]


def least_loaded_account_manager(session: Session) -> User | None:
    """The jobs area's assignment rule: fewest open jobs among those with room for one."""
    return least_loaded_manager(session)
