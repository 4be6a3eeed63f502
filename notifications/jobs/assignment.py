"""Account managers and their jobs: the open-job count, the least-loaded choice, assignment.

``open_job_counts`` is the one place an account manager's load is counted; the console's
forms, the account manager's day, the admin's user list and the assignment rule all read it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import OPEN_JOB_STATUSES, EmailStatus, Job, OutboundEmail, Role, User
from models.audit import record

from . import emails
from .errors import InvalidJob, UnknownAccountManager
from .settings import JobSettings
from .validation import is_storable_text

log = logging.getLogger(__name__)


def manager_by_email(session: Session, email: object) -> User:
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise InvalidJob("account_manager_email must be an email address", "account_manager_email")
    if not is_storable_text(email):
        raise InvalidJob("account_manager_email must be an email address", "account_manager_email")
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or user.role not in (Role.ACCOUNT_MANAGER, Role.ADMIN):
        raise UnknownAccountManager(email.strip())
    return user


def _open_jobs_per_manager(manager_ids: Sequence[int] | None):
    """The one count of an account manager's load: her open jobs, grouped by manager."""
    stmt = (
        select(Job.account_manager_id.label("manager_id"), func.count(Job.id).label("open_jobs"))
        .where(Job.account_manager_id.is_not(None), Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Job.account_manager_id)
    )
    if manager_ids is not None:
        stmt = stmt.where(Job.account_manager_id.in_(manager_ids))
    return stmt


def open_job_counts(session: Session, manager_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Open jobs per account manager id (all managers, or those in ``manager_ids``)."""
    stmt = _open_jobs_per_manager(manager_ids)
    return {manager_id: count for manager_id, count in session.execute(stmt)}


def account_managers_with_load(
    session: Session, manager_ids: Sequence[int] | None = None
) -> list[tuple[User, int]]:
    """Active account managers (all, or those in ``manager_ids``) by name, with open jobs.

    One statement: the managers joined to their grouped count.
    """
    load = _open_jobs_per_manager(manager_ids).subquery("load")
    stmt = select(User, func.coalesce(load.c.open_jobs, 0)).where(
        User.role == Role.ACCOUNT_MANAGER, User.active.is_(True)
    )
    if manager_ids is not None:
        stmt = stmt.where(User.id.in_(manager_ids))
    stmt = stmt.outerjoin(load, load.c.manager_id == User.id).order_by(User.name, User.id)
    return [(manager, int(count)) for manager, count in session.execute(stmt)]


def _managers_with_room(session: Session) -> list[tuple[User, int]]:
    """Active account managers with room for one more job, each with her open-job count.

    Their rows are locked (``FOR UPDATE``, in id order so two processes never deadlock)
    before their jobs are counted: a process choosing a manager waits for one that is
    assigning a job right now, then counts that job too. SQLite serialises writers anyway.
    """
    managers = session.scalars(
        select(User)
        .where(User.role == Role.ACCOUNT_MANAGER, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    counts = open_job_counts(session)
    return [(m, counts.get(m.id, 0)) for m in managers if counts.get(m.id, 0) < m.capacity]


def least_loaded_manager(session: Session, exclude: int | None = None) -> User | None:
    """The active account manager with the fewest open jobs and room for one more."""
    free = [(m, count) for m, count in _managers_with_room(session) if m.id != exclude]
    if not free:
        return None
    return min(free, key=lambda pair: (pair[1], pair[0].id))[0]


def assign_account_manager(
    session: Session,
    job: Job,
    *,
    manager: User | None = None,
    manager_email: str | None = None,
    actor: str,
    settings: JobSettings | None = None,
    now: datetime,
    initial: bool = False,
    automatic: bool | None = None,
) -> User | None:
    """Give the job to ``manager`` (or the least-loaded one with capacity) and tell people.

    With nobody free the job stays unassigned and admins get an alert. The new manager
    gets an assignment email; the customer gets an introduction the first time and a
    handover email when the job moves from one manager to another, after which the
    previous manager's freed room goes to the oldest waiting job. ``automatic`` marks the
    audit entry; by default it is automatic when nobody was named.
    """
    settings = settings or JobSettings()
    if manager is None and manager_email:
        manager = manager_by_email(session, manager_email)
    if automatic is None:
        automatic = manager is None
    if manager is None:
        manager = least_loaded_manager(session)
    previous = job.account_manager
    if manager is not None and previous is not None and previous.id == manager.id:
        return manager
    if manager is None:
        entry = record(
            session,
            actor=actor,
            entity_type="job",
            entity_id=job.id,
            action="unassigned",
            details={"reason": "no account manager has spare capacity"},
        )
        session.flush()
        emails.unassigned_alert(session, job, settings, entry.id, now)
        return None

    job.account_manager = manager
    entry = record(
        session,
        actor=actor,
        entity_type="job",
        entity_id=job.id,
        action="assigned",
        details={
            "account_manager": manager.email,
            "previous": previous.email if previous else None,
            "automatic": automatic,
        },
    )
    session.flush()
    tz = settings.zone(session)
    emails.assignment(session, job, manager, tz, entry.id, now)
    if previous is None and not emails.customer_was_introduced(session, job):
        emails.introduction(session, job, tz, now, settings)
    elif previous is not None:
        emails.handover(session, job, previous, tz, entry.id, now)
        emails.resign_pending_customer_emails(session, job, tz)
    emails.watch_eta(session, job, tz, now, settings.public_base_url)
    if previous is not None and job.status in OPEN_JOB_STATUSES:
        assign_waiting_jobs(session, actor=actor, settings=settings, now=now)
    return manager


def assign_waiting_jobs(
    session: Session,
    *,
    actor: str,
    settings: JobSettings | None = None,
    now: datetime,
    limit: int = 100,
) -> list[Job]:
    """Give unassigned open jobs, oldest first, to account managers who have room now.

    Each job goes through :func:`assign_account_manager`, so the manager's assignment
    email, the customer's introduction and the ETA watch are those of a new job. Stops as
    soon as nobody has room; jobs still waiting get no further alert (admins heard when
    the job was created). On PostgreSQL the jobs taken are locked ``SKIP LOCKED``: two
    processes sweeping at once never assign the same job twice.
    """
    settings = settings or JobSettings()
    # Lock no more waiting jobs than there is room for (a delivery frees one place).
    room = sum(m.capacity - count for m, count in _managers_with_room(session))
    if room <= 0 or limit <= 0:
        return []
    waiting = session.scalars(
        select(Job)
        .where(Job.account_manager_id.is_(None), Job.status.in_(OPEN_JOB_STATUSES))
        .order_by(Job.created_at, Job.id)
        .limit(min(room, limit))
        .with_for_update(skip_locked=True)
        # Jobs this session read earlier are refreshed from the rows just locked: another
        # process may have changed them (their ETA, say) in between.
        .execution_options(populate_existing=True)
    ).all()
    assigned: list[Job] = []
    for job in waiting:
        # The manager is chosen here, not inside assign_account_manager: should nobody have
        # room by then, it would record the job as unassigned and alert admins again.
        manager = least_loaded_manager(session)
        if manager is None:
            break
        assign_account_manager(
            session,
            job,
            manager=manager,
            automatic=True,
            actor=actor,
            settings=settings,
            now=now,
        )
        assigned.append(job)
    return assigned


def manager_details_changed(
    session: Session, manager: User, *, old_email: str, settings: JobSettings | None = None
) -> None:
    """An account manager's name, email or phone changed: unsent emails carry the new ones.

    Customers' emails still waiting (introductions, ETA changes) are rendered again from her
    current details and reply to her new address; anything still waiting to be sent to her
    old address goes to the new one.
    """
    settings = settings or JobSettings()
    tz = settings.zone(session)
    jobs = session.scalars(
        select(Job).where(Job.account_manager_id == manager.id, Job.status.in_(OPEN_JOB_STATUSES))
    ).all()
    for job in jobs:
        emails.resign_pending_customer_emails(session, job, tz)
    if old_email != manager.email:
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.to_email == old_email, OutboundEmail.status == EmailStatus.PENDING)
            .values(to_email=manager.email)
            .execution_options(synchronize_session=False)
        )


def run_assign_waiting_jobs(runtime: Any) -> int:
    """Periodic worker job (see ``notifications.worker.PERIODIC_JOBS``): assign waiting jobs.

    Catches room that appears outside the job service: a capacity raised, a new account
    manager, a manager made active again.
    """
    settings = JobSettings.from_config(runtime.config)
    with runtime.db.Session() as session:
        assigned = assign_waiting_jobs(
            session, actor="worker", settings=settings, now=runtime.clock()
        )
        references = [job.reference for job in assigned]
        session.commit()
    if references:
        log.info("assigned %d waiting jobs: %s", len(references), ", ".join(references))
    return len(references)
