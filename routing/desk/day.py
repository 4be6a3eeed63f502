"""The account manager's day: what her home page shows, or the team's for coordinators.

Everything is counted and cut in SQL (bounded lists, aggregates), so the page stays fast
with a hundred thousand jobs; only the few rows shown are classified in Python, with the
same ETA rules the "at risk" and "passed" emails use (``eta_state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from models import (
    OPEN_JOB_STATUSES,
    Customer,
    Enquiry,
    EnquiryStatus,
    Job,
    Task,
    TaskStatus,
    User,
)
from models.hours import BusinessCalendar
from notifications.jobs import account_managers_with_load
from notifications.jobs.eta import Eta, eta_state, warning_time

BUCKETS = ("overdue", "today", "at-risk", "week")
BUCKET_TITLES = {
    "overdue": "ETA passed",
    "today": "Due today",
    "at-risk": "At risk (due by the next business day)",
    "week": "Due this week",
}
LOW_RATING = 2
FEEDBACK_DAYS = 30
WEEK_DAYS = 7


@dataclass(frozen=True)
class DayJob:
    job: Job
    state: str  # eta_state: "overdue", "at-risk", "on-track"
    deadline: datetime


@dataclass(frozen=True)
class ManagerLoad:
    manager: User
    open_jobs: int

    @property
    def full(self) -> bool:
        return self.open_jobs >= self.manager.capacity

    @property
    def percent(self) -> int:
        capacity = self.manager.capacity or 0
        return 100 if capacity <= 0 else min(100, round(100 * self.open_jobs / capacity))


@dataclass
class Day:
    """One person's (or the team's) day; lists are cut at ``limit``, counts are exact."""

    buckets: dict[str, list[DayJob]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    bounced: list[tuple[Customer, int]] = field(default_factory=list)
    low_feedback: list[Job] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    open_tasks: int = 0
    overdue_tasks: int = 0
    enquiries: list[Enquiry] = field(default_factory=list)
    open_enquiries: int = 0
    loads: list[ManagerLoad] = field(default_factory=list)


@dataclass(frozen=True)
class _Window:
    """Today in the organisation's zone, and how far "at risk" reaches from now."""

    today: date
    now: datetime
    tomorrow: datetime  # start of the next local day, UTC
    week_end: datetime  # start of the local day after the coming week, UTC
    risk_day: date  # date ETAs up to this day are at risk
    risk_instant: datetime  # instant ETAs up to this instant are at risk

    @classmethod
    def of(cls, now: datetime, calendar: BusinessCalendar) -> _Window:
        tz = calendar.timezone
        local_now = now.astimezone(tz)
        today = local_now.date()

        def start(day: date) -> datetime:
            return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)

        def at_risk(eta: Eta) -> bool:
            return warning_time(calendar, eta) <= now

        # The warning time grows with the ETA, so the ETAs at risk are a prefix of the
        # week: find its end among the days (dates) and the candidate instants.
        tomorrow = start(today + timedelta(days=1))
        risk_day, risk_instant = today, tomorrow - timedelta(microseconds=1)
        for offset in range(1, WEEK_DAYS + 2):
            day = today + timedelta(days=offset)
            if offset <= WEEK_DAYS and at_risk(Eta(day=day)):
                risk_day = day
            for clock in (local_now.timetz().replace(tzinfo=None), time.max):
                instant = datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)
                if at_risk(Eta(at=instant)):
                    risk_instant = max(risk_instant, instant)
        return cls(
            today,
            now,
            tomorrow,
            start(today + timedelta(days=WEEK_DAYS + 1)),
            risk_day,
            risk_instant,
        )


def _conditions(w: _Window) -> dict[str, tuple[ColumnElement[bool], ColumnElement[bool]]]:
    """Per bucket: (condition on date ETAs, condition on instant ETAs); they never overlap."""
    last_day = w.today + timedelta(days=WEEK_DAYS)
    return {
        "overdue": (Job.eta_date < w.today, Job.eta_at <= w.now),
        "today": (Job.eta_date == w.today, and_(Job.eta_at > w.now, Job.eta_at < w.tomorrow)),
        "at-risk": (
            and_(Job.eta_date > w.today, Job.eta_date <= w.risk_day),
            and_(Job.eta_at >= w.tomorrow, Job.eta_at <= w.risk_instant),
        ),
        "week": (
            and_(Job.eta_date > w.risk_day, Job.eta_date <= last_day),
            and_(Job.eta_at > w.risk_instant, Job.eta_at >= w.tomorrow, Job.eta_at < w.week_end),
        ),
    }


def _scope(stmt, column, manager_ids: Sequence[int] | None):
    return stmt if manager_ids is None else stmt.where(column.in_(manager_ids))


def _jobs(session: Session, manager_ids, by_date, by_instant, limit: int, newest: bool):
    """Open jobs matching one bucket: two index-friendly queries (date / instant ETAs)."""
    rows: list[Job] = []
    for condition, column in ((by_date, Job.eta_date), (by_instant, Job.eta_at)):
        stmt = (
            select(Job)
            # Loaded by id afterwards: a join here makes PostgreSQL give up the top-N sort.
            .options(selectinload(Job.customer), selectinload(Job.account_manager))
            .where(Job.status.in_(OPEN_JOB_STATUSES), condition)
            .order_by(column.desc() if newest else column, Job.id)
            .limit(limit)
        )
        rows.extend(session.scalars(_scope(stmt, Job.account_manager_id, manager_ids)).unique())
    return rows


def _job_buckets(
    session: Session,
    manager_ids: Sequence[int] | None,
    calendar: BusinessCalendar,
    now: datetime,
    limit: int,
) -> tuple[dict[str, list[DayJob]], dict[str, int]]:
    window = _Window.of(now, calendar)
    conditions = _conditions(window)
    totals = select(
        *(
            func.coalesce(func.sum(case((or_(*conds), 1), else_=0)), 0).label(name)
            for name, conds in conditions.items()
        )
    ).where(Job.status.in_(OPEN_JOB_STATUSES))
    counts = session.execute(_scope(totals, Job.account_manager_id, manager_ids)).one()._mapping
    tz = calendar.timezone
    buckets: dict[str, list[DayJob]] = {}
    for name, (by_date, by_instant) in conditions.items():
        # Overdue: the most recently passed first, the ones a customer is waiting on now.
        newest = name == "overdue"
        jobs = _jobs(session, manager_ids, by_date, by_instant, limit, newest)
        rows = [DayJob(j, eta_state(calendar, j, now), Eta.of_job(j).deadline(tz)) for j in jobs]
        rows.sort(key=lambda r: r.deadline, reverse=newest)
        buckets[name] = rows[:limit]
    return buckets, {name: int(counts[name]) for name in BUCKETS}


def _bounced(session: Session, manager_ids, limit: int) -> list[tuple[Customer, int]]:
    stmt = (
        select(Customer, func.count(Job.id))
        .join(Job, Job.customer_id == Customer.id)
        .where(Customer.email_undeliverable, Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Customer.id)
        .order_by(Customer.name)
        .limit(limit)
    )
    return [
        (c, int(n)) for c, n in session.execute(_scope(stmt, Job.account_manager_id, manager_ids))
    ]


def _low_feedback(session: Session, manager_ids, now: datetime, limit: int) -> list[Job]:
    stmt = (
        select(Job)
        .options(joinedload(Job.customer), joinedload(Job.account_manager))
        .where(
            Job.feedback_rating <= LOW_RATING,
            Job.feedback_at >= now - timedelta(days=FEEDBACK_DAYS),
        )
        .order_by(Job.feedback_at.desc())
        .limit(limit)
    )
    return list(session.scalars(_scope(stmt, Job.account_manager_id, manager_ids)).unique())


def _tasks(session: Session, assignee_ids, now: datetime, limit: int):
    open_tasks = _scope(
        select(Task).where(Task.status == TaskStatus.OPEN), Task.assignee_id, assignee_ids
    )
    counted = select(
        func.count(Task.id), func.coalesce(func.sum(case((Task.due_at < now, 1), else_=0)), 0)
    ).where(Task.status == TaskStatus.OPEN)
    total, late = session.execute(_scope(counted, Task.assignee_id, assignee_ids)).one()
    rows = session.scalars(
        open_tasks.options(joinedload(Task.customer), joinedload(Task.assignee))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(limit)
    ).unique()
    return list(rows), int(total), int(late)


def _enquiries(session: Session, owner_ids, limit: int) -> tuple[list[Enquiry], int]:
    unresolved = Enquiry.status != EnquiryStatus.RESOLVED
    total = session.scalar(
        _scope(select(func.count(Enquiry.id)).where(unresolved), Enquiry.owner_id, owner_ids)
    )
    rows = session.scalars(
        _scope(select(Enquiry).where(unresolved), Enquiry.owner_id, owner_ids)
        .options(joinedload(Enquiry.customer), joinedload(Enquiry.owner))
        .order_by(Enquiry.sla_deadline, Enquiry.id)
        .limit(limit)
    ).unique()
    return list(rows), int(total or 0)


def manager_loads(session: Session, manager_ids=None) -> list[ManagerLoad]:
    """Active account managers (all, or those in ``manager_ids``) and their open jobs."""
    return [ManagerLoad(u, n) for u, n in account_managers_with_load(session, manager_ids)]


def account_manager_day(
    session: Session,
    *,
    manager_ids: Sequence[int] | None,
    task_assignee_ids: Sequence[int] | None,
    calendar: BusinessCalendar,
    now: datetime,
    limit: int = 25,
) -> Day:
    """The day of the managers in ``manager_ids`` (None: the whole team).

    Tasks are those of ``task_assignee_ids`` (None: everyone's): each user sees only her
    own tasks, admins everyone's.
    """
    day = Day()
    day.buckets, day.counts = _job_buckets(session, manager_ids, calendar, now, limit)
    day.bounced = _bounced(session, manager_ids, limit)
    day.low_feedback = _low_feedback(session, manager_ids, now, limit)
    day.tasks, day.open_tasks, day.overdue_tasks = _tasks(session, task_assignee_ids, now, limit)
    day.enquiries, day.open_enquiries = _enquiries(session, manager_ids, limit)
    day.loads = manager_loads(session, manager_ids)
    return day
