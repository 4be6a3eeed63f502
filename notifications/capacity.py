"""What is on the books: daily delivery capacity, each local day's load, the days with room.

Capacity counts open and in-progress jobs whose ETA falls on a local day of the
organisation (a date ETA on that date, a datetime ETA at any instant of that day). Unset
means no limit. Once a per-day capacity is set, days without business hours and holidays
have no room unless a day is given a capacity of its own (``DeliveryDay``), which always
wins: an admin can open a Saturday, or close a Tuesday with 0.

Promising a day takes a lock on that day first (:func:`lock_delivery_day`), so two
requests racing for its last place are served one after the other and the second sees the
first's job: on PostgreSQL a transaction-scoped advisory lock keyed by the date; SQLite
already serialises writers (every transaction begins IMMEDIATE).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from models import (
    OPEN_JOB_STATUSES,
    BusinessCalendar,
    DeliveryCapacity,
    DeliveryDay,
    EtaOverride,
    Job,
)
from models.audit import record

from .jobs.eta import Eta

MAX_DAYS = 366
MAX_JOBS_PER_DAY = 100_000
ALTERNATIVES = 3
# Advisory lock keys are (space, key) pairs of int4: this space is the delivery days'.
_LOCK_SPACE = 0x53424344


class InvalidCapacity(ValueError):
    """A capacity that is not a whole number of jobs from 0, or a bad date; says why."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class DayLoad:
    """One local day: jobs due on it and how many it may take (None = no limit)."""

    day: date
    booked: int
    capacity: int | None

    @property
    def free(self) -> int | None:
        return None if self.capacity is None else max(self.capacity - self.booked, 0)

    @property
    def has_room(self) -> bool:
        return self.capacity is None or self.booked < self.capacity

    def as_json(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "booked": self.booked,
            "capacity": self.capacity,
            "free": self.free,
        }


@dataclass(frozen=True)
class CapacityRules:
    """The per-day figure, the days with a figure of their own, and the business calendar."""

    per_day: int | None
    days: dict[date, int] = field(default_factory=dict)
    calendar: BusinessCalendar | None = None

    @classmethod
    def load(cls, session: Session, tz: ZoneInfo) -> CapacityRules:
        row = session.scalar(select(DeliveryCapacity).order_by(DeliveryCapacity.id).limit(1))
        days = {d.day: d.jobs for d in session.scalars(select(DeliveryDay))}
        return cls(
            per_day=row.per_day if row else None,
            days=days,
            calendar=BusinessCalendar.load(session, tz.key),
        )

    @property
    def limited(self) -> bool:
        return self.per_day is not None or bool(self.days)

    def capacity(self, day: date) -> int | None:
        if day in self.days:
            return self.days[day]
        if self.per_day is None:
            return None
        if self.calendar is not None and not self.calendar.is_business_day(day):
            return 0
        return self.per_day


@dataclass(frozen=True)
class DayCheck:
    """The day an ETA falls on, with its load before this job, and the days offered instead."""

    load: DayLoad
    alternatives: list[date]


def local_day(eta: Eta, tz: ZoneInfo) -> date:
    """The organisation's local date an ETA falls on."""
    if eta.day is not None:
        return eta.day
    assert eta.at is not None
    return eta.at.astimezone(tz).date()


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC instant a local day begins."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def booked_by_day(
    session: Session,
    first: date,
    last: date,
    tz: ZoneInfo,
    *,
    exclude_job_id: int | None = None,
) -> Counter[date]:
    """Open and in-progress jobs per local day from ``first`` to ``last`` (inclusive)."""
    counts: Counter[date] = Counter()
    live = [Job.status.in_(OPEN_JOB_STATUSES)]
    if exclude_job_id is not None:
        live.append(Job.id != exclude_job_id)
    rows = session.execute(
        select(Job.eta_date, func.count(Job.id))
        .where(*live, Job.eta_date >= first, Job.eta_date <= last)
        .group_by(Job.eta_date)
    )
    for day, count in rows:
        counts[day] += count
    instants = session.scalars(
        select(Job.eta_at).where(
            *live,
            Job.eta_at >= local_midnight(first, tz),
            Job.eta_at < local_midnight(last + timedelta(days=1), tz),
        )
    )
    for at in instants:
        counts[at.astimezone(tz).date()] += 1
    return counts


def day_loads(
    session: Session,
    start: date,
    days: int,
    tz: ZoneInfo,
    *,
    rules: CapacityRules | None = None,
    exclude_job_id: int | None = None,
) -> list[DayLoad]:
    """``days`` consecutive local days from ``start``, each with booked and capacity."""
    rules = rules or CapacityRules.load(session, tz)
    last = start + timedelta(days=days - 1)
    counts = booked_by_day(session, start, last, tz, exclude_job_id=exclude_job_id)
    return [
        DayLoad(day, counts.get(day, 0), rules.capacity(day))
        for day in (start + timedelta(days=n) for n in range(days))
    ]


def days_with_room(
    session: Session,
    after: date,
    tz: ZoneInfo,
    *,
    rules: CapacityRules | None = None,
    count: int = ALTERNATIVES,
    horizon: int = MAX_DAYS,
    exclude_job_id: int | None = None,
) -> list[date]:
    """The ``count`` nearest days strictly after ``after`` with room for one more job."""
    rules = rules or CapacityRules.load(session, tz)
    loads = day_loads(
        session, after + timedelta(days=1), horizon, tz, rules=rules, exclude_job_id=exclude_job_id
    )
    return [load.day for load in loads if load.has_room][:count]


def lock_delivery_day(session: Session, day: date) -> None:
    """Hold ``day`` until the transaction ends: whoever promises it next waits, then counts."""
    if session.connection().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:space, :day)"),
            {"space": _LOCK_SPACE, "day": day.toordinal()},
        )


def check_day(
    session: Session, eta: Eta, tz: ZoneInfo, *, exclude_job_id: int | None = None
) -> DayCheck | None:
    """Lock the ETA's day and say whether it is full: None when it has room.

    The job being moved (``exclude_job_id``) does not count against its own new day.
    """
    day = local_day(eta, tz)
    lock_delivery_day(session, day)
    rules = CapacityRules.load(session, tz)
    capacity = rules.capacity(day)
    if capacity is None:
        return None
    booked = booked_by_day(session, day, day, tz, exclude_job_id=exclude_job_id).get(day, 0)
    if booked < capacity:
        return None
    alternatives = days_with_room(session, day, tz, rules=rules, exclude_job_id=exclude_job_id)
    return DayCheck(DayLoad(day, booked, capacity), alternatives)


def record_override(
    session: Session,
    job: Job,
    load: DayLoad,
    *,
    reason: str,
    actor: str,
    now: datetime,
    eta_change_id: int | None = None,
) -> EtaOverride:
    """The job was promised a full day anyway: keep who, why and that day's load."""
    assert load.capacity is not None
    override = EtaOverride(
        job_id=job.id,
        eta_change_id=eta_change_id,
        day=load.day,
        booked=load.booked,
        capacity=load.capacity,
        reason=reason,
        actor=actor,
        at=now,
    )
    session.add(override)
    record(
        session,
        actor=actor,
        entity_type="job",
        entity_id=job.id,
        action="eta_override",
        details={
            "date": load.day.isoformat(),
            "booked": load.booked,
            "capacity": load.capacity,
            "reason": reason,
        },
    )
    return override


def overrides_of(session: Session, job_id: int) -> list[EtaOverride]:
    return list(
        session.scalars(
            select(EtaOverride).where(EtaOverride.job_id == job_id).order_by(EtaOverride.id)
        )
    )


# --- setting capacity ----------------------------------------------------------------------


def clean_jobs(raw: object, field_name: str) -> int:
    """A whole number of jobs from 0 (text from a form, or an int)."""
    if isinstance(raw, bool):
        raise InvalidCapacity("give a whole number of jobs (0 or more)", field_name)
    try:
        value = int(raw.strip()) if isinstance(raw, str) else int(raw)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise InvalidCapacity("give a whole number of jobs (0 or more)", field_name) from None
    if not 0 <= value <= MAX_JOBS_PER_DAY:
        raise InvalidCapacity(f"give a number of jobs from 0 to {MAX_JOBS_PER_DAY}", field_name)
    return value


def clean_day(raw: object, field_name: str = "date") -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        raise InvalidCapacity(f"{raw!r} is not a date such as 2026-12-24", field_name) from None


def _settings_row(session: Session) -> DeliveryCapacity:
    row = session.scalar(select(DeliveryCapacity).order_by(DeliveryCapacity.id).limit(1))
    if row is None:
        row = DeliveryCapacity(per_day=None)
        session.add(row)
    return row


def set_per_day(
    session: Session, jobs: int | None, *, actor: str, actor_user_id: int | None = None
) -> None:
    """Jobs per business day for every day without a figure of its own; None = no limit."""
    row = _settings_row(session)
    old = row.per_day
    row.per_day = jobs
    session.flush()
    record(
        session,
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type="delivery_capacity",
        entity_id=row.id,
        action="per_day_set",
        details={"old": old, "new": jobs},
    )


def set_day(
    session: Session,
    day: date,
    jobs: int | None,
    *,
    actor: str,
    actor_user_id: int | None = None,
) -> None:
    """One day's own capacity (0 = no deliveries); None gives the day back to the rules."""
    row = session.get(DeliveryDay, day)
    old = row.jobs if row else None
    if jobs is None:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(DeliveryDay(day=day, jobs=jobs))
    else:
        row.jobs = jobs
    session.flush()
    record(
        session,
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type="delivery_capacity",
        entity_id=day.toordinal(),
        action="day_set" if jobs is not None else "day_cleared",
        details={"date": day.isoformat(), "old": old, "new": jobs},
    )


def clear_capacity(session: Session, *, actor: str, actor_user_id: int | None = None) -> None:
    """Remove every limit: no per-day figure, no day of its own."""
    row = _settings_row(session)
    old_days = session.scalar(select(func.count()).select_from(DeliveryDay)) or 0
    old = row.per_day
    row.per_day = None
    session.execute(delete(DeliveryDay))
    session.flush()
    record(
        session,
        actor=actor,
        actor_user_id=actor_user_id,
        entity_type="delivery_capacity",
        entity_id=row.id,
        action="cleared",
        details={"old_per_day": old, "days_removed": old_days},
    )


def upcoming_days(session: Session) -> list[DeliveryDay]:
    return list(session.scalars(select(DeliveryDay).order_by(DeliveryDay.day)))


def window_start(now: datetime, tz: ZoneInfo) -> date:
    return now.astimezone(tz).date()
