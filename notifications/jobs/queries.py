"""Reading jobs: search and list, an account manager's open jobs, one job's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from models import (
    OPEN_JOB_STATUSES,
    AuditEntry,
    Customer,
    Job,
    JobStatus,
    OutboundEmail,
    Role,
    User,
)
from models.hours import BusinessCalendar

from .. import capacity
from .eta import Eta, eta_state

PAGE_SIZE = 50
STATE_ORDER = {"overdue": 0, "at-risk": 1, "on-track": 2, "": 3}


@dataclass
class JobRow:
    job: Job
    state: str


def find_job(session: Session, reference: str) -> Job | None:
    return session.scalar(select(Job).where(Job.reference == reference.strip()))


def active_account_managers(session: Session) -> list[User]:
    """Active account managers by name, for the forms' choice lists."""
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.ACCOUNT_MANAGER, User.active.is_(True))
            .order_by(User.name)
        )
    )


def search_jobs(
    session: Session,
    *,
    query: str = "",
    status: str = "",
    manager: str = "",
    page: int = 1,
) -> tuple[list[Job], int]:
    """Jobs matching a reference or customer (name, email, company), newest first."""
    stmt = select(Job).join(Job.customer)
    if query:
        like = f"%{query.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Job.reference).like(like),
                func.lower(Customer.name).like(like),
                func.lower(Customer.email).like(like),
                func.lower(Customer.company).like(like),
            )
        )
    if status == "active":
        stmt = stmt.where(Job.status.in_(OPEN_JOB_STATUSES))
    elif status in {s.value for s in JobStatus}:
        stmt = stmt.where(Job.status == JobStatus(status))
    if manager == "unassigned":
        stmt = stmt.where(Job.account_manager_id.is_(None))
    elif manager.isdigit():
        stmt = stmt.where(Job.account_manager_id == int(manager))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    jobs = session.scalars(
        stmt.options(joinedload(Job.customer), joinedload(Job.account_manager))
        .order_by(Job.created_at.desc(), Job.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return list(jobs), total


def job_page(
    session: Session,
    tz: ZoneInfo,
    *,
    after: int | None,
    statuses: Sequence[JobStatus] | None,
    manager_email: str | None,
    eta_from: date | None,
    eta_to: date | None,
    limit: int,
) -> tuple[list[Job], bool]:
    """Jobs after id ``after``, oldest first, filtered; and whether more follow.

    ``manager_email`` is compared in lower case; the ETA days are the organisation's
    (``tz``), and an ETA instant counts on its local day.
    """
    stmt = select(Job).options(joinedload(Job.customer), joinedload(Job.account_manager))
    if after is not None:
        stmt = stmt.where(Job.id > after)
    if statuses:
        stmt = stmt.where(Job.status.in_(statuses))
    if manager_email is not None:
        manager_ids = select(User.id).where(func.lower(User.email) == manager_email)
        stmt = stmt.where(Job.account_manager_id.in_(manager_ids))
    if eta_from:
        start = capacity.local_midnight(eta_from, tz)
        stmt = stmt.where(or_(Job.eta_date >= eta_from, Job.eta_at >= start))
    if eta_to:
        end = capacity.local_midnight(eta_to + timedelta(days=1), tz)
        stmt = stmt.where(or_(Job.eta_date <= eta_to, Job.eta_at < end))
    rows = session.scalars(stmt.order_by(Job.id).limit(limit + 1)).unique().all()
    return list(rows[:limit]), len(rows) > limit


def jobs_of(
    session: Session, manager: User, calendar: BusinessCalendar, now: datetime
) -> list[JobRow]:
    """A manager's open jobs: overdue first, then at risk, then by ETA."""
    jobs = session.scalars(
        select(Job)
        .options(joinedload(Job.customer))
        .where(Job.account_manager_id == manager.id, Job.status.in_(OPEN_JOB_STATUSES))
    ).all()
    rows = [JobRow(job, eta_state(calendar, job, now)) for job in jobs]
    rows.sort(key=lambda r: (STATE_ORDER[r.state], Eta.of_job(r.job).deadline(calendar.timezone)))
    return rows


def emails_of(session: Session, job: Job) -> list[OutboundEmail]:
    """Every email about the job, oldest first, with its delivery events."""
    return list(
        session.scalars(
            select(OutboundEmail)
            .options(joinedload(OutboundEmail.events))
            .where(OutboundEmail.job_id == job.id)
            .order_by(OutboundEmail.id)
        ).unique()
    )


def audit_of(session: Session, job: Job) -> list[AuditEntry]:
    """The job's audit trail, oldest first."""
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "job", AuditEntry.entity_id == job.id)
            .order_by(AuditEntry.id)
        )
    )
