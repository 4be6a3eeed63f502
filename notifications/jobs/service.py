"""The job service: create a job and change its ETA, status, manager or description.

Every function takes the caller's session and adds rows to its transaction (the job, its
ETA history, audit entries and outbox emails); the caller commits once. Nothing is sent
before that commit: the worker only ever reads committed outbox rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Customer, EtaChange, Job, JobStatus
from models.audit import record
from models.contact import InvalidContact, normalise_email, normalise_phone

from .. import capacity
from . import emails
from .assignment import assign_account_manager, assign_waiting_jobs, manager_by_email
from .errors import DayFull, DuplicateJob, InvalidJob, InvalidTransition
from .eta import Eta, InvalidEta, parse_eta
from .queries import find_job
from .settings import JobSettings
from .validation import MAX_DESCRIPTION, MAX_REASON, MAX_REFERENCE, TRANSITIONS, UNSET, clean_text


def _customer_for(
    session: Session, data: Mapping[str, Any], settings: JobSettings, actor: str
) -> Customer:
    """The customer with this email, or a new one; phone and company fill gaps only."""
    if not isinstance(data, Mapping):
        raise InvalidJob("customer must be an object with name and email", "customer")
    name = clean_text(data.get("name"), "customer.name", 200, required=True)
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
    company = clean_text(data.get("company"), "customer.company", 200)

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
    now: datetime,
) -> Job:
    """Create a job, assign it and write its first emails to the outbox.

    Raises DuplicateJob (carrying the existing job) when the reference is taken,
    InvalidJob / InvalidEta naming the field for bad input, UnknownAccountManager,
    DayFull when the ETA's day has no room and no ``eta_override_reason`` is given.
    """
    settings = settings or JobSettings()
    reference = clean_text(reference, "reference", MAX_REFERENCE, required=True) or ""
    existing = find_job(session, reference)
    if existing is not None:
        raise DuplicateJob(existing)
    description = clean_text(description, "description", MAX_DESCRIPTION)
    tz = settings.zone(session)
    try:
        parsed = parse_eta(eta, tz)
    except InvalidEta as exc:
        raise InvalidJob(str(exc), "eta") from None
    manager = manager_by_email(session, account_manager_email) if account_manager_email else None
    override_reason = clean_text(eta_override_reason, "eta_override_reason", MAX_REASON)
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
    now: datetime,
) -> Job:
    """Change a job's ETA, status, manager or description; each change is audited.

    A new ETA on another local day than the current one must find room there (DayFull
    otherwise, unless ``eta_override_reason`` says why it is promised anyway); an ETA
    that keeps its day never fails on capacity.
    """
    settings = settings or JobSettings()
    tz = settings.zone(session)
    new_eta = _new_eta(job, eta, tz)
    reason = clean_text(eta_reason, "eta_reason", MAX_REASON)
    override_reason = clean_text(eta_override_reason, "eta_override_reason", MAX_REASON)
    new_status = _new_status(job, status)
    manager = None
    if account_manager_email is not UNSET and account_manager_email is not None:
        manager = manager_by_email(session, account_manager_email)
    if new_eta is not None and job.status in (JobStatus.DELIVERED, JobStatus.CANCELLED):
        if new_eta != Eta.of_job(job):
            raise InvalidJob(f"the ETA of a {job.status.value} job cannot change", "eta")

    if description is not UNSET:
        text = clean_text(description, "description", MAX_DESCRIPTION)
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


def _new_eta(job: Job, eta: Any, tz: ZoneInfo) -> Eta | None:
    """The ETA asked for, parsed in the organisation's zone."""
    if eta is UNSET:
        return None
    try:
        new_eta = parse_eta(eta, tz)
    except InvalidEta as exc:
        raise InvalidJob(str(exc), "eta") from None
    return new_eta


def _new_status(job: Job, status: Any) -> JobStatus | None:
    """The status asked for, checked against where the job may go next."""
    if status is UNSET:
        return None
    try:
        new_status = JobStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in JobStatus)
        raise InvalidJob(f"status must be one of {allowed}", "status") from None
    if new_status != job.status and new_status not in TRANSITIONS[job.status]:
        raise InvalidTransition(job.status, new_status)
    return new_status


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
    emails.eta_changed(
        session, job, change, tz, send_at=now + timedelta(minutes=settings.settle_minutes)
    )
    emails.watch_eta(session, job, tz, now, settings.public_base_url)
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
        emails.cancel_pending_job_emails(session, job, kinds=emails.PROMISE_KINDS)
    if new_status == JobStatus.DELIVERED:
        job.delivered_at = now
        session.flush()
        emails.delivered(session, job, tz, settings, now)
    if new_status in (JobStatus.DELIVERED, JobStatus.CANCELLED) and job.account_manager_id:
        # The manager has room for one more: the oldest waiting job takes it.
        session.flush()
        assign_waiting_jobs(session, actor=actor, settings=settings, now=now)
