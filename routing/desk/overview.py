"""The console's home page: what needs the coordinator's attention right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Call, Enquiry, Task, TaskStatus, User

from .day import UNRESOLVED
from .disposition import ENDED_STATUSES
from .live import MAX_CALL_HOURS


@dataclass(frozen=True)
class Overview:
    active_calls: int
    my_calls_to_close: int
    open_enquiries: int
    breached_enquiries: int
    my_open_tasks: int


def overview(session: Session, user: User, *, now: datetime) -> Overview:
    """Counts for the home page's tiles, in one statement.

    Each count is its own scalar subquery, so each keeps the index that suits it (calls
    by start, her calls by who answered them, her tasks by assignee).
    """
    # Calls last four hours at most; the started_at index keeps these counts cheap.
    recent = now - timedelta(hours=MAX_CALL_HOURS)
    active_calls = select(func.count(Call.id)).where(
        Call.started_at >= recent,
        Call.status.not_in(ENDED_STATUSES),
        Call.ended_at.is_(None),
    )
    my_calls_to_close = select(func.count(Call.id)).where(
        Call.started_at >= recent - timedelta(days=1),
        Call.answered_by_id == user.id,
        Call.disposed_at.is_(None),
    )
    my_open_tasks = select(func.count(Task.id)).where(
        Task.assignee_id == user.id, Task.status == TaskStatus.OPEN
    )
    enquiries = (
        select(
            func.count().label("open_enquiries"),
            func.count().filter(Enquiry.sla_deadline < now).label("breached_enquiries"),
        )
        .where(Enquiry.status.in_(UNRESOLVED))
        .subquery("enquiries")
    )
    row = session.execute(
        select(
            active_calls.scalar_subquery().label("active_calls"),
            my_calls_to_close.scalar_subquery().label("my_calls_to_close"),
            enquiries.c.open_enquiries,
            enquiries.c.breached_enquiries,
            my_open_tasks.scalar_subquery().label("my_open_tasks"),
        )
    ).one()
    return Overview(**{name: int(value or 0) for name, value in row._mapping.items()})
