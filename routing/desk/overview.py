"""The console's home page: what needs the coordinator's attention right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Call, Enquiry, EnquiryStatus, Task, TaskStatus, User

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
    """Counts for the home page, each one query."""
    # Calls last four hours at most; the started_at index keeps these counts cheap.
    recent = now - timedelta(hours=MAX_CALL_HOURS)
    unresolved = Enquiry.status != EnquiryStatus.RESOLVED
    return Overview(
        active_calls=session.scalar(
            select(func.count(Call.id)).where(
                Call.started_at >= recent,
                Call.status.not_in(ENDED_STATUSES),
                Call.ended_at.is_(None),
            )
        )
        or 0,
        my_calls_to_close=session.scalar(
            select(func.count(Call.id)).where(
                Call.started_at >= recent - timedelta(days=1),
                Call.answered_by_id == user.id,
                Call.disposed_at.is_(None),
            )
        )
        or 0,
        open_enquiries=session.scalar(select(func.count(Enquiry.id)).where(unresolved)) or 0,
        breached_enquiries=session.scalar(
            select(func.count(Enquiry.id)).where(unresolved, Enquiry.sla_deadline < now)
        )
        or 0,
        my_open_tasks=session.scalar(
            select(func.count(Task.id)).where(
                Task.assignee_id == user.id, Task.status == TaskStatus.OPEN
            )
        )
        or 0,
    )
