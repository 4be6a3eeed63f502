"""Jobs: creation, ETA changes, assignment to account managers, and the emails they cause.

Every function takes the caller's session and adds rows to its transaction (the job, its
ETA history, audit entries and outbox emails); the caller commits once. Nothing is sent
before that commit: the worker only ever reads committed outbox rows.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import (
    OPEN_JOB_STATUSES,
    Customer,
    EmailStatus,
    EtaChange,
    Job,
    JobStatus,
    OutboundEmail,
    Role,
    User,
    utcnow,
)
from models.audit import record
from models.contact import InvalidContact, normalise_email, normalise_phone
from models.organisation import current_settings

from . import capacity, job_emails
from .eta import Eta, InvalidEta, parse_eta

__all__ = [
    "DayFull",
    "DuplicateJob",
    "InvalidEta",
    "InvalidJob",
    "InvalidTransition",
    "JobError",
    "JobSettings",
    "UNSET",
    "UnknownAccountManager",
    "assign_account_manager",
    "assign_waiting_jobs",
    "create_job",
    "find_job",
    "manager_details_changed",
    "parse_eta",
    "run_assign_waiting_jobs",
    "update_job",
]

log = logging.getLogger(__name__)

MAX_REFERENCE = 100
MAX_DESCRIPTION = 5000
MAX_REASON = 1000


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


class JobError(Exception):
    """A job request that breaks a rule; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidJob(JobError):
    pass


class DuplicateJob(JobError):
    def __init__(self, job: Job):
        super().__init__(f"a job with reference {job.reference!r} already exists", "reference")
        self.job = job


class UnknownAccountManager(JobError):
    def __init__(self, email: str):
        super().__init__(
            f"{email!r} is not an active account manager", field="account_manager_email"
        )


class DayFull(JobError):
    """The ETA falls on a day without room: its load and the nearest later days with room.

    The same request with an override reason is accepted and the override recorded.
    """

    def __init__(self, eta: Eta, check: capacity.DayCheck):
        load = check.load
        day = f"{load.day:%A} {load.day.day} {load.day:%B %Y}"
        if load.capacity == 0:
            message = f"{day} takes no deliveries"
        else:
            message = f"{day} is fully booked ({load.booked} of {load.capacity} deliveries)"
        if check.alternatives:
            nearest = ", ".join(d.isoformat() for d in check.alternatives)
            message += f"; the nearest days with room are {nearest}"
        else:
            message += "; no later day has room in the coming year"
        super().__init__(message + ". To promise it anyway, give the reason.", "eta")
        self.eta = eta
        self.load = load
        self.alternatives = check.alternatives

    def details(self) -> dict[str, Any]:
        """The 409 body's details, as PRODUCT.md §5 fixes them."""
        return {
            "eta": self.eta.iso(),
            "booked": self.load.booked,
            "capacity": self.load.capacity,
            "alternatives": [d.isoformat() for d in self.alternatives],
        }


class InvalidTransition(JobError):
    def __init__(self, current: JobStatus, wanted: JobStatus):
        super().__init__(
            f"a job that is {current.value} cannot become {wanted.value}", field="status"
        )


# Where a job may go next; delivered and cancelled are final.
TRANSITIONS: dict[JobStatus, set[JobStatus]] = {
    JobStatus.OPEN: {JobStatus.IN_PROGRESS, JobStatus.DELIVERED, JobStatus.CANCELLED},
    JobStatus.IN_PROGRESS: {JobStatus.OPEN, JobStatus.DELIVERED, JobStatus.CANCELLED},
    JobStatus.DELIVERED: set(),
    JobStatus.CANCELLED: set(),
}


@dataclass(frozen=True)
class JobSettings:
    """What the job service needs from the configuration (passed in, never read globally)."""

    timezone: str | None = None
    settle_minutes: int = 10
    public_base_url: str = "http://127.0.0.1:5000"
    secret_key: str = "development-secret-key-not-for-production"
    default_region: str = "US"

    @classmethod
    def from_config(cls, config: Any) -> JobSettings:
        return cls(
            timezone=getattr(config, "TIMEZONE", None),
            settle_minutes=int(getattr(config, "ETA_SETTLE_MINUTES", 10)),
            public_base_url=getattr(config, "PUBLIC_BASE_URL", None) or cls.public_base_url,
            secret_key=getattr(config, "SECRET_KEY", None) or cls.secret_key,
            default_region=getattr(config, "DEFAULT_REGION", None) or "US",
        )

    def zone(self, session: Session) -> ZoneInfo:
        """The organisation's zone: the settings row wins over the environment."""
        org = current_settings(session)
        name = (org.timezone if org and org.timezone else None) or self.timezone or "UTC"
        return ZoneInfo(name)


def find_job(session: Session, reference: str) -> Job | None:
    return session.scalar(select(Job).where(Job.reference == reference.strip()))


def _clean_text(value: object, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidJob(f"{field} is required", field)
        return None
    if not isinstance(value, str):
        raise InvalidJob(f"{field} must be text", field)
    value = value.strip()
    if len(value) > limit:
        raise InvalidJob(f"{field} is longer than {limit} characters", field)
    if not is_storable_text(value):
        raise InvalidJob(f"{field} contains characters that cannot be stored", field)
    return value


def is_storable_text(value: str) -> bool:
    """No NUL characters (PostgreSQL refuses them) and no lone surrogates (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _customer_for(
    session: Session, data: Mapping[str, Any], settings: JobSettings, actor: str
) -> Customer:
    """The customer with this email, or a new one; phone and company fill gaps only."""
    if not isinstance(data, Mapping):
        raise InvalidJob("customer must be an object with name and email", "customer")
    name = _clean_text(data.get("name"), "customer.name", 200, required=True)
    raw_email = data.get("email")
    if not isinstance(raw_email, str) or not raw_email.strip():
        raise InvalidJob("customer.email is required", "customer.email")
    try:
        email = normalise_email(raw_email)
    except InvalidContact as exc:
        raise InvalidJob(str(exc), "customer.email") from None
    phone = None
    raw_phone = data.get("phone")
    if raw_phone not in (None, ""):
        if not isinstance(raw_phone, str) or len(raw_phone) > 40:
            raise InvalidJob("customer.phone must be a phone number", "customer.phone")
        try:
            phone = normalise_phone(raw_phone, settings.default_region)
        except InvalidContact as exc:
            raise InvalidJob(str(exc), "customer.phone") from None
    company = _clean_text(data.get("company"), "customer.company", 200)

    customer = session.scalar(
        select(Customer).where(func.lower(Customer.email) == email).order_by(Customer.id).limit(1)
    )
    if customer is None:
        customer = Customer(name=name, email=email, phone=phone, company=company)
        session.add(customer)
        session.flush()
        record(
            session,
            actor=actor,
            entity_type="customer",
            entity_id=customer.id,
            action="created",
            details={"email": email, "via": "job"},
        )
        return customer
    if phone and not customer.phone:
        customer.phone = phone
    if company and not customer.company:
        customer.company = company
    return customer


def create_job(
    session: Session,
    *,
    reference: str,
    customer: Mapping[str, Any],
    description: str | None = None,
    eta: str | Eta,
    account_manager_email: str | None = None,
    eta_override_reason: str | None = None,
    actor: str,
    settings: JobSettings | None = None,
    now: datetime | None = None,
) -> Job:
    """Create a job, assign it and write its first emails to the outbox.

    Raises DuplicateJob (carrying the existing job) when the reference is taken,
    InvalidJob / InvalidEta naming the field for bad input, UnknownAccountManager,
    DayFull when the ETA's day has no room and no ``eta_override_reason`` is given.
    """
    settings = settings or JobSettings()
    now = now or utcnow()
    reference = _clean_text(reference, "reference", MAX_REFERENCE, required=True) or ""
    existing = find_job(session, reference)
    if existing is not None:
        raise DuplicateJob(existing)
    description = _clean_text(description, "description", MAX_DESCRIPTION)
    tz = settings.zone(session)
    try:
        parsed = parse_eta(eta, tz)
    except InvalidEta as exc:
        raise InvalidJob(str(exc), "eta") from None
    manager = _manager_by_email(session, account_manager_email) if account_manager_email else None
    override_reason = _clean_text(eta_override_reason, "eta_override_reason", MAX_REASON)
    full = _check_day(session, parsed, tz, override_reason)
    # The day's lock may have waited for a request creating this very job (a retry).
    existing = find_job(session, reference)
    if existing is not None:
        raise DuplicateJob(existing)
    customer_row = _customer_for(session, customer, settings, actor)

    job = Job(reference=reference, customer=customer_row, description=description)
    parsed.apply_to(job)
    session.add(job)
    session.flush()
    record(
        session,
        actor=actor,
        entity_type="job",
        entity_id=job.id,
        action="created",
        details={"reference": reference, "eta": parsed.iso(), "customer_id": customer_row.id},
    )
    if full is not None:
        capacity.record_override(
            session, job, full.load, reason=override_reason or "", actor=actor, now=now
        )
    assign_account_manager(
        session, job, manager=manager, actor=actor, settings=settings, now=now, initial=True
    )
    return job


def _check_day(
    session: Session,
    eta: Eta,
    tz: ZoneInfo,
    override_reason: str | None,
    *,
    exclude_job_id: int | None = None,
) -> capacity.DayCheck | None:
    """Lock the ETA's day; a full day raises DayFull unless there is a reason to override.

    Returns the full day's check when it is overridden (to be recorded), else None.
    """
    full = capacity.check_day(session, eta, tz, exclude_job_id=exclude_job_id)
    if full is not None and not override_reason:
        raise DayFull(eta, full)
    return full


def _manager_by_email(session: Session, email: object) -> User:
    if not isinstance(email, str) or not email.strip() or len(email) > 254:
        raise InvalidJob("account_manager_email must be an email address", "account_manager_email")
    if not is_storable_text(email):
        raise InvalidJob("account_manager_email must be an email address", "account_manager_email")
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or user.role not in (Role.ACCOUNT_MANAGER, Role.ADMIN):
        raise UnknownAccountManager(email.strip())
    return user


def open_job_counts(session: Session) -> dict[int, int]:
    """Open jobs per account manager id."""
    rows = session.execute(
        select(Job.account_manager_id, func.count(Job.id))
        .where(Job.account_manager_id.is_not(None), Job.status.in_(OPEN_JOB_STATUSES))
        .group_by(Job.account_manager_id)
    )
    return {manager_id: count for manager_id, count in rows}


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
    now: datetime | None = None,
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
    now = now or utcnow()
    if manager is None and manager_email:
        manager = _manager_by_email(session, manager_email)
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
        job_emails.unassigned_alert(session, job, settings, entry.id, now)
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
    job_emails.assignment(session, job, manager, tz, entry.id, now)
    if previous is None and not job_emails.customer_was_introduced(session, job):
        job_emails.introduction(session, job, tz, now, settings)
    elif previous is not None:
        job_emails.handover(session, job, previous, tz, entry.id, now)
        job_emails.resign_pending_customer_emails(session, job, tz)
    job_emails.watch_eta(session, job, tz, now, settings.public_base_url)
    if previous is not None and job.status in OPEN_JOB_STATUSES:
        assign_waiting_jobs(session, actor=actor, settings=settings, now=now)
    return manager


def assign_waiting_jobs(
    session: Session,
    *,
    actor: str,
    settings: JobSettings | None = None,
    now: datetime | None = None,
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
    now = now or utcnow()
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
        job_emails.resign_pending_customer_emails(session, job, tz)
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


def update_job(
    session: Session,
    job: Job,
    *,
    eta: Any = UNSET,
    eta_reason: Any = None,
    status: Any = UNSET,
    account_manager_email: Any = UNSET,
    description: Any = UNSET,
    eta_override_reason: Any = None,
    actor: str,
    settings: JobSettings | None = None,
    now: datetime | None = None,
) -> Job:
    """Change a job's ETA, status, manager or description; each change is audited.

    A new ETA on another local day than the current one must find room there (DayFull
    otherwise, unless ``eta_override_reason`` says why it is promised anyway); an ETA
    that keeps its day never fails on capacity.
    """
    settings = settings or JobSettings()
    now = now or utcnow()
    tz = settings.zone(session)
    new_eta = None
    if eta is not UNSET:
        try:
            new_eta = parse_eta(eta, tz)
        except InvalidEta as exc:
            raise InvalidJob(str(exc), "eta") from None
    reason = _clean_text(eta_reason, "eta_reason", MAX_REASON)
    override_reason = _clean_text(eta_override_reason, "eta_override_reason", MAX_REASON)
    new_status = None
    if status is not UNSET:
        try:
            new_status = JobStatus(status)
        except ValueError:
            allowed = ", ".join(s.value for s in JobStatus)
            raise InvalidJob(f"status must be one of {allowed}", "status") from None
        if new_status != job.status and new_status not in TRANSITIONS[job.status]:
            raise InvalidTransition(job.status, new_status)
    manager = None
    if account_manager_email is not UNSET and account_manager_email is not None:
        manager = _manager_by_email(session, account_manager_email)
    if new_eta is not None and job.status in (JobStatus.DELIVERED, JobStatus.CANCELLED):
        if new_eta != Eta.of_job(job):
            raise InvalidJob(f"the ETA of a {job.status.value} job cannot change", "eta")

    if description is not UNSET:
        text = _clean_text(description, "description", MAX_DESCRIPTION)
        if text != job.description:
            record(
                session,
                actor=actor,
                entity_type="job",
                entity_id=job.id,
                action="description_changed",
                details={"old": job.description, "new": text},
            )
            job.description = text
    if new_eta is not None and new_eta != Eta.of_job(job):
        full = None
        if capacity.local_day(new_eta, tz) != capacity.local_day(Eta.of_job(job), tz):
            full = _check_day(session, new_eta, tz, override_reason, exclude_job_id=job.id)
        change = _change_eta(session, job, new_eta, reason, actor, settings, tz, now)
        if full is not None:
            capacity.record_override(
                session,
                job,
                full.load,
                reason=override_reason or "",
                actor=actor,
                now=now,
                eta_change_id=change.id,
            )
    if manager is not None:
        assign_account_manager(
            session, job, manager=manager, actor=actor, settings=settings, now=now
        )
    if new_status is not None and new_status != job.status:
        _change_status(session, job, new_status, actor, settings, tz, now)
    session.flush()
    return job


def _change_eta(
    session: Session,
    job: Job,
    new_eta: Eta,
    reason: str | None,
    actor: str,
    settings: JobSettings,
    tz: ZoneInfo,
    now: datetime,
) -> EtaChange:
    old_eta = Eta.of_job(job)
    change = EtaChange(
        job=job,
        old_eta_date=old_eta.day,
        old_eta_at=old_eta.at,
        new_eta_date=new_eta.day,
        new_eta_at=new_eta.at,
        reason=reason,
        changed_by=actor,
        at=now,
    )
    session.add(change)
    new_eta.apply_to(job)
    session.flush()
    record(
        session,
        actor=actor,
        entity_type="job",
        entity_id=job.id,
        action="eta_changed",
        details={"old": old_eta.iso(), "new": new_eta.iso(), "reason": reason},
    )
    job_emails.eta_changed(
        session, job, change, tz, send_at=now + timedelta(minutes=settings.settle_minutes)
    )
    job_emails.watch_eta(session, job, tz, now, settings.public_base_url)
    return change


def _change_status(
    session: Session,
    job: Job,
    new_status: JobStatus,
    actor: str,
    settings: JobSettings,
    tz: ZoneInfo,
    now: datetime,
) -> None:
    old = job.status
    job.status = new_status
    record(
        session,
        actor=actor,
        entity_type="job",
        entity_id=job.id,
        action="status_changed",
        details={"old": old.value, "new": new_status.value},
    )
    if new_status in (JobStatus.DELIVERED, JobStatus.CANCELLED):
        job_emails.cancel_pending_job_emails(session, job, kinds=job_emails.PROMISE_KINDS)
    if new_status == JobStatus.DELIVERED:
        job.delivered_at = now
        session.flush()
        job_emails.delivered(session, job, tz, settings, now)
    if new_status in (JobStatus.DELIVERED, JobStatus.CANCELLED) and job.account_manager_id:
        # The manager has room for one more: the oldest waiting job takes it.
        session.flush()
        assign_waiting_jobs(session, actor=actor, settings=settings, now=now)
