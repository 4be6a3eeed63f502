"""The account manager's day: what her home page shows, or the team's for coordinators.

Everything is counted and cut in SQL (bounded lists, aggregates), so the page stays fast
with a hundred thousand jobs: every count in one statement, read from indexes of open
jobs; then, in one statement per list, only the rows shown. Only those few rows are
classified in Python, with the same ETA rules the "at risk" and "passed" emails use
(``eta_state``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Subquery, and_, func, literal_column, select, true, union_all
from sqlalchemy.orm import Session, joinedload, load_only

from models import (
    OPEN_JOB_STATUSES,
    Customer,
    Enquiry,
    EnquiryStatus,
    Job,
    Role,
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
# Spelled as the statuses it is (not "!= resolved") so an index on the status finds the
# few unresolved enquiries among a year of resolved ones.
UNRESOLVED = (EnquiryStatus.OPEN, EnquiryStatus.CLAIMED)
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


def _open_jobs(stmt, manager_ids: Sequence[int] | None):
    return _scope(
        stmt.where(Job.status.in_(OPEN_JOB_STATUSES)), Job.account_manager_id, manager_ids
    )


_SHOWN_JOB = (
    Job.reference,
    Job.customer_id,
    Job.account_manager_id,
    Job.eta_date,
    Job.eta_at,
    Job.status,
    Job.delivered_at,
)
_SHOWN_ENQUIRY = (
    Enquiry.kind,
    Enquiry.status,
    Enquiry.sla_deadline,
    Enquiry.caller_number,
    Enquiry.customer_id,
    Enquiry.owner_id,
)

# The two halves of every bucket: ETAs that are dates, ETAs that are instants.
_HALVES = ("date", "instant")


def _bucket_counts(manager_ids, w: _Window, conditions) -> list[Subquery]:
    """Per half, one row counting each bucket: only ETAs up to the week's end are read.

    Each half reads one index of open jobs and nothing else (the open jobs' ETA dates, or
    their status and ETA instants); an ``OR`` of both halves would read the jobs' rows.
    """
    reach = (Job.eta_date <= w.today + timedelta(days=WEEK_DAYS), Job.eta_at < w.week_end)
    counts = []
    for i, half in enumerate(_HALVES):
        columns = (
            func.count().filter(halves[i]).label(f"{half}_{name}")
            for name, halves in conditions.items()
        )
        stmt = _open_jobs(select(*columns).where(reach[i]), manager_ids)
        counts.append(stmt.subquery(f"jobs_{half}"))
    return counts


def _picked_jobs(manager_ids, conditions, wanted: set[tuple[str, str]], limit: int):
    """The ids shown in each bucket half that has rows: (bucket number, job id) rows.

    Each half is cut in its own subquery, on its own index (a join there makes PostgreSQL
    give up the top-N sort), so one statement brings every bucket's first rows.
    """
    parts = []
    for number, (name, halves) in enumerate(conditions.items()):
        # Overdue: the most recently passed first, the ones a customer is waiting on now.
        newest = name == "overdue"
        for half, condition, column in zip(
            _HALVES, halves, (Job.eta_date, Job.eta_at), strict=True
        ):
            if (name, half) not in wanted:
                continue
            cut = (
                _open_jobs(select(Job.id).where(condition), manager_ids)
                .order_by(column.desc() if newest else column, Job.id)
                .limit(limit)
                .subquery()
            )
            parts.append(select(literal_column(str(number)).label("bucket"), cut.c.id))
    return union_all(*parts).subquery("picked") if parts else None


def _job_rows(session: Session, picked, names: list[str]) -> dict[str, list[Job]]:
    """The picked jobs with their customer and account manager, per bucket."""
    rows: dict[str, list[Job]] = {name: [] for name in names}
    if picked is None:
        return rows
    stmt = (
        select(Job, picked.c.bucket)
        .join(picked, picked.c.id == Job.id)
        .options(
            # What the rows show (and the ETA state needs), not the descriptions and notes.
            load_only(*_SHOWN_JOB),
            joinedload(Job.customer).load_only(Customer.name, Customer.email_undeliverable),
            joinedload(Job.account_manager),
        )
    )
    for job, number in session.execute(stmt):
        rows[names[int(number)]].append(job)
    return rows


def _day_jobs(
    rows: dict[str, list[Job]], calendar: BusinessCalendar, now: datetime, limit: int
) -> dict[str, list[DayJob]]:
    """Each bucket's rows by deadline (overdue: latest first), cut at ``limit``."""
    tz = calendar.timezone
    buckets: dict[str, list[DayJob]] = {}
    for name, jobs in rows.items():
        newest = name == "overdue"
        # Date ETAs before instants, then by id, where deadlines tie (a stable sort).
        jobs.sort(key=lambda j: (j.eta_at is not None, j.id))
        day_jobs = [
            DayJob(j, eta_state(calendar, j, now), Eta.of_job(j).deadline(tz)) for j in jobs
        ]
        day_jobs.sort(key=lambda r: r.deadline, reverse=newest)
        buckets[name] = day_jobs[:limit]
    return buckets


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


def _figures(session: Session, manager_ids, task_assignee_ids, w: _Window, conditions):
    """Every count the day shows, in one statement: one-row subqueries side by side."""
    jobs_by_date, jobs_by_instant = _bucket_counts(manager_ids, w, conditions)
    tasks = _scope(
        select(
            func.count().label("open_tasks"),
            func.count().filter(Task.due_at < w.now).label("overdue_tasks"),
        ).where(Task.status == TaskStatus.OPEN),
        Task.assignee_id,
        task_assignee_ids,
    ).subquery("tasks")
    enquiries = _scope(
        select(func.count().label("open_enquiries")).where(Enquiry.status.in_(UNRESOLVED)),
        Enquiry.owner_id,
        manager_ids,
    ).subquery("enquiries")
    parts = (jobs_by_date, jobs_by_instant, tasks, enquiries)
    joined = jobs_by_date.join(jobs_by_instant, true()).join(tasks, true()).join(enquiries, true())
    row = session.execute(select(*(c for part in parts for c in part.c)).select_from(joined))
    return {name: int(value or 0) for name, value in row.one()._mapping.items()}


def _tasks(session: Session, assignee_ids, limit: int) -> list[Task]:
    stmt = _scope(
        select(Task).where(Task.status == TaskStatus.OPEN), Task.assignee_id, assignee_ids
    )
    rows = session.scalars(
        stmt.options(joinedload(Task.customer), joinedload(Task.assignee))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(limit)
    ).unique()
    return list(rows)


def _enquiries(session: Session, owner_ids, limit: int) -> list[Enquiry]:
    rows = session.scalars(
        _scope(select(Enquiry).where(Enquiry.status.in_(UNRESOLVED)), Enquiry.owner_id, owner_ids)
        .options(
            load_only(*_SHOWN_ENQUIRY),
            joinedload(Enquiry.customer).load_only(Customer.name),
            joinedload(Enquiry.owner),
        )
        .order_by(Enquiry.sla_deadline, Enquiry.id)
        .limit(limit)
    ).unique()
    return list(rows)


def manager_loads(session: Session, manager_ids=None) -> list[ManagerLoad]:
    """Active account managers (all, or those in ``manager_ids``) and their open jobs."""
    return [ManagerLoad(u, n) for u, n in account_managers_with_load(session, manager_ids)]


def team_managers(session: Session, day: Day, manager_ids: Sequence[int] | None) -> list[User]:
    """The active account managers by name, to pick one: the day's own when it is the team's."""
    if manager_ids is None:
        return [load.manager for load in day.loads]
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.ACCOUNT_MANAGER, User.active.is_(True))
            .order_by(User.name, User.id)
        )
    )


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
    own tasks, admins everyone's. The counts come first, in one statement; then only the
    lists that have rows are read, each cut at ``limit``.
    """
    window = _Window.of(now, calendar)
    conditions = _conditions(window)
    figures = _figures(session, manager_ids, task_assignee_ids, window, conditions)
    day = Day(
        counts={name: figures[f"date_{name}"] + figures[f"instant_{name}"] for name in BUCKETS},
        open_tasks=figures["open_tasks"],
        overdue_tasks=figures["overdue_tasks"],
        open_enquiries=figures["open_enquiries"],
    )
    wanted = {(name, half) for name in BUCKETS for half in _HALVES if figures[f"{half}_{name}"]}
    picked = _picked_jobs(manager_ids, conditions, wanted, limit)
    day.buckets = _day_jobs(_job_rows(session, picked, list(conditions)), calendar, now, limit)
    day.bounced = _bounced(session, manager_ids, limit)
    day.low_feedback = _low_feedback(session, manager_ids, now, limit)
    day.tasks = _tasks(session, task_assignee_ids, limit) if day.open_tasks else []
    day.enquiries = _enquiries(session, manager_ids, limit) if day.open_enquiries else []
    day.loads = manager_loads(session, manager_ids)
    return day
