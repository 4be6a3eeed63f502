"""Ending a call (or resolving a missed enquiry) with exactly one outcome.

The console's one form posts plain strings; :func:`parse_disposition` checks them and
returns every field error at once, then :func:`dispose_call` / :func:`resolve_enquiry`
apply the outcome in the caller's transaction. The call (or enquiry) is claimed with a
conditional UPDATE first, so two coordinators closing the same call at the same moment
cannot both succeed: the second gets ``AlreadyDisposed`` and nothing of hers is saved.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from models import (
    Call,
    CallStatus,
    Customer,
    Enquiry,
    EnquiryStatus,
    Job,
    Line,
    Outcome,
    Role,
    Salesperson,
    Task,
    TaskKind,
    TaskStatus,
    User,
    audit,
    utcnow,
)
from models.contact import InvalidContact, normalise_email, normalise_phone
from models.job import OPEN_JOB_STATUSES
from notifications import emails
from notifications.jobs import DayFull, JobError, create_job, least_loaded_manager

from .booking import (
    APPOINTMENT_LENGTHS,
    TELECONFERENCE_LENGTHS,
    book_appointment,
    create_teleconference,
)
from .change_outcome import apply_change, change_settings, parse_change
from .errors import (
    AlreadyDisposed,
    CallNotFound,
    EnquiryNotFound,
    InvalidDisposition,
    NotYourTask,
    TaskNotFound,
)

SALES_OUTCOMES = frozenset(
    {
        Outcome.APPOINTMENT,
        Outcome.TELECONFERENCE,
        Outcome.ACCOUNT_MANAGEMENT,
        Outcome.REFUND_REQUEST,
        Outcome.GENERAL_ENQUIRY,
    }
)
OUTCOME_LABELS = {
    Outcome.APPOINTMENT: "Appointment with the salesperson",
    Outcome.TELECONFERENCE: "Teleconference",
    Outcome.ACCOUNT_MANAGEMENT: "Account management",
    Outcome.REFUND_REQUEST: "Refund or cancellation request",
    Outcome.GENERAL_ENQUIRY: "General enquiry",
    Outcome.WRONG_NUMBER: "Wrong number / spam",
    Outcome.APPOINTMENT_CHANGE: "Move or cancel an appointment",
}
LEAST_LOADED = "least_loaded"
ENDED_STATUSES = {
    CallStatus.COMPLETED.value,
    CallStatus.BUSY.value,
    CallStatus.NO_ANSWER.value,
    CallStatus.CANCELED.value,
    CallStatus.FAILED.value,
}
_PARTICIPANT = re.compile(r"^\s*(?:(?P<name>[^<]*?)\s*<(?P<angle>[^>]+)>|(?P<bare>\S+@\S+))\s*$")


@dataclass(frozen=True)
class DeskSettings:
    """What the desk needs from configuration, passed in so services never read Flask."""

    zone: ZoneInfo
    region: str = "US"
    mail_from: str = "Switchboard <switchboard@example.com>"
    console_url: str = "http://127.0.0.1:5000"
    # notifications.jobs.JobSettings, for jobs created from the form.
    job_settings: Any = None


@dataclass
class Disposition:
    """A checked disposition form: values are typed, required ones are present."""

    outcome: Outcome
    caller_declined: bool = False
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_email: str | None = None
    notes: str | None = None
    slot_start: datetime | None = None
    length_minutes: int = 30
    place: str | None = None
    conference_title: str | None = None
    conference_start: datetime | None = None
    conference_minutes: int = 30
    participants: list[tuple[str, str]] = field(default_factory=list)
    account_manager_id: int | None = None  # None = least loaded with capacity
    transfer: bool = False
    transfer_mode: str = "warm"  # warm: she hears who it is first; cold: connected at once
    job_reference: str | None = None
    new_job_reference: str | None = None
    new_job_description: str | None = None
    new_job_eta: str | None = None
    # "Choose anyway": why the new job is promised a day that has no room.
    new_job_eta_override_reason: str | None = None
    refund_reason: str | None = None
    # Outcome.APPOINTMENT_CHANGE: ("appointment" | "teleconference", id), move or cancel.
    change_booking: tuple[str, int] | None = None
    change_action: str | None = None
    move_start: datetime | None = None
    cancel_reason: str | None = None


@dataclass
class DispositionResult:
    outcome: Outcome
    customer: Customer | None = None
    appointment_id: int | None = None
    teleconference_id: int | None = None
    task: Task | None = None
    account_manager: User | None = None
    job: Job | None = None
    # Set when the coordinator asked to put the live call through: done after commit.
    transfer_to: User | None = None
    transfer_mode: str = "warm"
    details: dict[str, Any] = field(default_factory=dict)


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return str(value).strip() if value is not None else ""


def _checked(form: Mapping[str, Any], name: str) -> bool:
    return _text(form, name).lower() in {"1", "on", "true", "yes"}


def _transfer_choice(value: str) -> tuple[bool, str]:
    """The form's transfer choice: "" (callback task), "warm", "cold"; "on" means warm."""
    value = value.lower()
    if value == "cold":
        return True, "cold"
    return value in {"1", "on", "true", "yes", "warm"}, "warm"


def _int_choice(value: str, choices: tuple[int, ...], default: int) -> int | None:
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number in choices else None


def parse_participants(text: str, region: str) -> tuple[list[tuple[str, str]], str | None]:
    """One participant per line, "Name <email>" or a bare email; returns (list, error)."""
    people = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = _PARTICIPANT.match(raw)
        if not match:
            return [], f"Line {number}: write “Name <email>” or an email address."
        email_raw = match.group("angle") or match.group("bare")
        try:
            email = normalise_email(email_raw)
        except InvalidContact as exc:
            return [], f"Line {number}: {exc}"
        name = (match.group("name") or "").strip() or email.split("@")[0]
        people.append((name, email))
    return people, None


def _chosen_eta(form: Mapping[str, Any]) -> str | None:
    """The typed ETA, or the day with room she picked instead (keeping a typed time)."""
    typed = _text(form, "new_job_eta")
    alternative = _text(form, "new_job_eta_alternative")
    if alternative:
        return alternative + (typed[10:] if len(typed) > 10 and typed[10] == "T" else "")
    return typed or None


def parse_disposition(
    form: Mapping[str, Any], *, zone: ZoneInfo, region: str = "US"
) -> Disposition:
    """Check the posted form; raise ``InvalidDisposition`` with every field's error."""
    errors: dict[str, str] = {}
    raw_outcome = _text(form, "outcome")
    try:
        outcome = Outcome(raw_outcome)
    except ValueError:
        raise InvalidDisposition({"outcome": "Choose how the call ended."}) from None
    result = Disposition(outcome=outcome, notes=_text(form, "notes") or None)

    if outcome in SALES_OUTCOMES:
        result.caller_declined = _checked(form, "caller_declined")
        if not result.caller_declined:
            result.caller_name = _text(form, "caller_name") or None
            if not result.caller_name:
                errors["caller_name"] = "Enter the caller's name, or tick “caller declined”."
            try:
                result.caller_phone = normalise_phone(_text(form, "caller_phone"), region)
            except InvalidContact as exc:
                errors["caller_phone"] = f"Phone: {exc}."
            try:
                result.caller_email = normalise_email(_text(form, "caller_email"))
            except InvalidContact as exc:
                errors["caller_email"] = f"Email: {exc}"

    if outcome is Outcome.APPOINTMENT:
        raw_slot = _text(form, "slot_start")
        try:
            slot = datetime.fromisoformat(raw_slot) if raw_slot else None
        except ValueError:
            slot = None
        if slot is None or slot.tzinfo is None:
            errors["slot_start"] = "Pick one of the salesperson's free slots."
        else:
            result.slot_start = slot.astimezone(UTC)
        length = _int_choice(_text(form, "length_minutes"), APPOINTMENT_LENGTHS, 30)
        if length is None:
            errors["length_minutes"] = "Choose one of the offered lengths."
        else:
            result.length_minutes = length
        result.place = _text(form, "place") or None

    elif outcome is Outcome.TELECONFERENCE:
        result.conference_title = _text(form, "conference_title") or None
        raw_start = _text(form, "conference_start")
        try:
            local = datetime.fromisoformat(raw_start) if raw_start else None
        except ValueError:
            local = None
        if local is None:
            errors["conference_start"] = "Enter the date and time of the teleconference."
        else:
            # The form's datetime-local value is the organisation's local time.
            if local.tzinfo is None:
                local = local.replace(tzinfo=zone)
            result.conference_start = local.astimezone(UTC)
        minutes = _int_choice(_text(form, "conference_minutes"), TELECONFERENCE_LENGTHS, 30)
        if minutes is None:
            errors["conference_minutes"] = "Choose one of the offered lengths."
        else:
            result.conference_minutes = minutes
        people, problem = parse_participants(_text(form, "participants"), region)
        if problem:
            errors["participants"] = problem
        result.participants = people

    elif outcome is Outcome.ACCOUNT_MANAGEMENT:
        raw_manager = _text(form, "account_manager_id") or LEAST_LOADED
        if raw_manager != LEAST_LOADED:
            if not raw_manager.isdigit():
                errors["account_manager_id"] = "Choose an account manager."
            else:
                result.account_manager_id = int(raw_manager)
        result.transfer, result.transfer_mode = _transfer_choice(_text(form, "transfer"))
        result.job_reference = _text(form, "job_reference") or None
        result.new_job_reference = _text(form, "new_job_reference") or None
        result.new_job_description = _text(form, "new_job_description") or None
        result.new_job_eta = _chosen_eta(form)
        result.new_job_eta_override_reason = _text(form, "new_job_eta_override_reason") or None
        if result.job_reference and result.new_job_reference:
            errors["new_job_reference"] = "Link an existing job or create a new one, not both."
        if result.new_job_reference and not result.new_job_eta:
            errors["new_job_eta"] = "A new job needs an ETA."

    elif outcome is Outcome.REFUND_REQUEST:
        result.refund_reason = _text(form, "refund_reason") or None
        if not result.refund_reason:
            errors["refund_reason"] = "Record why the customer wants a refund or to cancel."
        result.job_reference = _text(form, "refund_job_reference") or None

    elif outcome is Outcome.GENERAL_ENQUIRY:
        if not result.notes:
            errors["notes"] = "Note what the caller wanted."

    elif outcome is Outcome.APPOINTMENT_CHANGE:
        parse_change(form, result, errors, zone)

    if errors:
        raise InvalidDisposition(errors)
    return result


# ---------------------------------------------------------------- customers


def _find_customer(session: Session, phone: str | None, email: str | None) -> Customer | None:
    conditions = []
    if phone:
        conditions.append(Customer.phone == phone)
    if email:
        conditions.append(Customer.email == email)
    if not conditions:
        return None
    return session.scalars(
        select(Customer).where(or_(*conditions)).order_by(Customer.is_lead, Customer.id)
    ).first()


def resolve_caller(
    session: Session,
    disposition: Disposition,
    *,
    known: Customer | None,
    line: Line | None,
    actor: User,
) -> Customer | None:
    """The customer this call is about: the one Twilio's caller ID matched, one found by
    the details the coordinator typed, or a new lead owned by the line's salesperson."""
    if disposition.caller_declined or disposition.outcome not in SALES_OUTCOMES:
        return known
    customer = known or _find_customer(session, disposition.caller_phone, disposition.caller_email)
    if customer is None:
        customer = Customer(
            name=disposition.caller_name,
            phone=disposition.caller_phone,
            email=disposition.caller_email,
            salesperson_id=line.salesperson_id if line else None,
            is_lead=True,
        )
        session.add(customer)
        session.flush()
        audit.record(
            session,
            actor=actor.email,
            actor_user_id=actor.id,
            entity_type="customer",
            entity_id=customer.id,
            action="lead_created",
            details={"salesperson_id": customer.salesperson_id},
        )
        return customer
    changes = {}
    if disposition.caller_name and disposition.caller_name != customer.name:
        changes["name"] = [customer.name, disposition.caller_name]
        customer.name = disposition.caller_name
    if disposition.caller_email and disposition.caller_email != customer.email:
        changes["email"] = [customer.email, disposition.caller_email]
        customer.email = disposition.caller_email
        customer.email_undeliverable = False
    if not customer.phone and disposition.caller_phone:
        changes["phone"] = [None, disposition.caller_phone]
        customer.phone = disposition.caller_phone
    if customer.salesperson_id is None and line is not None:
        customer.salesperson_id = line.salesperson_id
    if changes:
        audit.record(
            session,
            actor=actor.email,
            actor_user_id=actor.id,
            entity_type="customer",
            entity_id=customer.id,
            action="details_updated",
            details=changes,
        )
    return customer


# ---------------------------------------------------------------- outcomes


@dataclass
class _Context:
    call: Call | None
    enquiry: Enquiry | None
    line: Line | None
    salesperson: Salesperson | None
    customer: Customer | None


def _salesperson_for(session: Session, line: Line | None, customer: Customer | None):
    if line is not None:
        return session.get(Salesperson, line.salesperson_id)
    if customer is not None and customer.salesperson_id:
        return session.get(Salesperson, customer.salesperson_id)
    return None


def _job_by_reference(session: Session, reference: str, field_name: str) -> Job:
    job = session.scalar(select(Job).where(Job.reference == reference))
    if job is None:
        raise InvalidDisposition({field_name: f"There is no job with reference {reference!r}."})
    return job


def _apply_outcome(
    session: Session,
    ctx: _Context,
    disposition: Disposition,
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
    live_call: bool,
) -> DispositionResult:
    result = DispositionResult(outcome=disposition.outcome, customer=ctx.customer)
    call_id = ctx.call.id if ctx.call else None
    outcome = disposition.outcome

    if outcome in (
        Outcome.APPOINTMENT,
        Outcome.TELECONFERENCE,
        Outcome.REFUND_REQUEST,
        Outcome.APPOINTMENT_CHANGE,
    ):
        if ctx.customer is None:
            raise InvalidDisposition(
                {
                    "caller_declined": "This outcome needs the caller's details: "
                    "untick “caller declined” and fill them in."
                }
            )

    if outcome is Outcome.APPOINTMENT:
        if ctx.salesperson is None:
            raise InvalidDisposition(
                {
                    "slot_start": "This call came in on no salesperson's line: choose another "
                    "outcome or book from the customer's page."
                }
            )
        if not ctx.customer.email:
            raise InvalidDisposition({"caller_email": "The invite needs the caller's email."})
        appointment = book_appointment(
            session,
            salesperson=ctx.salesperson,
            customer=ctx.customer,
            start=disposition.slot_start,
            length_minutes=disposition.length_minutes,
            zone=settings.zone,
            actor=actor,
            mail_from=settings.mail_from,
            place=disposition.place,
            notes=disposition.notes,
            call_id=call_id,
            now=now,
            links=change_settings(settings).links,
        )
        result.appointment_id = appointment.id
        result.details = {
            "appointment_id": appointment.id,
            "salesperson_id": ctx.salesperson.id,
            "start": appointment.start_at.isoformat(),
        }

    elif outcome is Outcome.TELECONFERENCE:
        conference = create_teleconference(
            session,
            title=disposition.conference_title
            or f"{ctx.customer.name} and {ctx.salesperson.name if ctx.salesperson else 'us'}",
            start=disposition.conference_start,
            length_minutes=disposition.conference_minutes,
            participants=disposition.participants,
            zone=settings.zone,
            actor=actor,
            mail_from=settings.mail_from,
            customer=ctx.customer,
            salesperson=ctx.salesperson,
            call_id=call_id,
            now=now,
            links=change_settings(settings).links,
        )
        result.teleconference_id = conference.id
        result.details = {"teleconference_id": conference.id, "pin": conference.pin}

    elif outcome is Outcome.ACCOUNT_MANAGEMENT:
        _account_management(session, ctx, disposition, result, actor, settings, now, live_call)

    elif outcome is Outcome.REFUND_REQUEST:
        _refund_request(session, ctx, disposition, result, actor, settings, now)

    elif outcome is Outcome.APPOINTMENT_CHANGE:
        apply_change(session, ctx, disposition, result, actor, settings, now)

    return result


def _account_management(
    session: Session,
    ctx: _Context,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
    live_call: bool,
) -> None:
    if disposition.account_manager_id is not None:
        manager = session.get(User, disposition.account_manager_id)
        if manager is None or not manager.active or manager.role is not Role.ACCOUNT_MANAGER:
            raise InvalidDisposition({"account_manager_id": "Choose an active account manager."})
    else:
        manager = least_loaded_manager(session)
        if manager is None:
            raise InvalidDisposition(
                {"account_manager_id": "No account manager has free capacity: choose one."}
            )
    job = None
    if disposition.job_reference:
        job = _job_by_reference(session, disposition.job_reference, "job_reference")
        if ctx.customer is not None and job.customer_id != ctx.customer.id:
            raise InvalidDisposition(
                {"job_reference": f"Job {job.reference} belongs to another customer."}
            )
    elif disposition.new_job_reference:
        if ctx.customer is None or not ctx.customer.email:
            raise InvalidDisposition(
                {"new_job_reference": "A new job needs the caller's name and email."}
            )
        job = _create_job(session, ctx.customer, disposition, manager, actor, settings, now)
    result.account_manager = manager
    result.job = job
    if disposition.transfer and live_call and manager.phone:
        result.transfer_to = manager
        result.transfer_mode = disposition.transfer_mode
    elif disposition.transfer and not manager.phone:
        raise InvalidDisposition(
            {"transfer": f"{manager.name} has no phone number to transfer to."}
        )
    else:
        result.task = create_callback_task(
            session,
            assignee=manager,
            customer=ctx.customer,
            call_id=ctx.call.id if ctx.call else None,
            job=job,
            notes=disposition.notes,
            now=now,
        )
    result.details = {
        "account_manager_id": manager.id,
        "job_id": job.id if job else None,
        "transfer": result.transfer_to is not None,
        "transfer_mode": result.transfer_mode if result.transfer_to is not None else None,
        "task_id": result.task.id if result.task else None,
    }


_JOB_FIELDS = {
    "reference": "new_job_reference",
    "description": "new_job_description",
    "eta": "new_job_eta",
}


def _create_job(
    session: Session,
    customer: Customer,
    disposition: Disposition,
    manager: User,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> Job:
    """New jobs go through the jobs area's service: its assignment, emails and capacity
    apply. A full day is refused with the days that have room (``new_job_eta_alternatives``,
    space-separated) unless the coordinator gives a reason to choose it anyway."""
    try:
        return create_job(
            session,
            reference=disposition.new_job_reference,
            customer={
                "name": customer.name,
                "email": customer.email,
                "phone": customer.phone,
                "company": customer.company,
            },
            description=disposition.new_job_description,
            eta=disposition.new_job_eta,
            account_manager_email=manager.email,
            eta_override_reason=disposition.new_job_eta_override_reason,
            actor=actor.email,
            settings=settings.job_settings,
            now=now,
        )
    except DayFull as exc:
        raise InvalidDisposition(
            {
                "new_job_eta": exc.message,
                "new_job_eta_alternatives": " ".join(d.isoformat() for d in exc.alternatives),
            }
        ) from None
    except JobError as exc:
        field_name = _JOB_FIELDS.get(exc.field or "", "new_job_reference")
        raise InvalidDisposition({field_name: exc.message}) from None


def create_callback_task(
    session: Session,
    *,
    assignee: User,
    customer: Customer | None,
    call_id: int | None,
    job: Job | None,
    notes: str | None,
    now: datetime | None = None,
) -> Task:
    """A task asking ``assignee`` to call the customer back (within one hour)."""
    now = now or utcnow()
    who = customer.name if customer else "the caller"
    task = Task(
        kind=TaskKind.CALLBACK,
        assignee_id=assignee.id,
        customer_id=customer.id if customer else None,
        call_id=call_id,
        job_id=job.id if job else None,
        description=f"Call {who} back" + (f": {notes}" if notes else "."),
        due_at=now + timedelta(hours=1),
    )
    session.add(task)
    session.flush()
    return task


def _refund_request(
    session: Session,
    ctx: _Context,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> None:
    customer = ctx.customer
    job = None
    if disposition.job_reference:
        job = _job_by_reference(session, disposition.job_reference, "refund_job_reference")
        if job.customer_id != customer.id:
            raise InvalidDisposition(
                {"refund_job_reference": f"Job {job.reference} belongs to another customer."}
            )
    else:
        job = session.scalars(
            select(Job)
            .where(Job.customer_id == customer.id, Job.status.in_(OPEN_JOB_STATUSES))
            .order_by(Job.created_at.desc())
        ).first()
    manager = session.get(User, job.account_manager_id) if job and job.account_manager_id else None
    owner = manager or actor
    task = Task(
        kind=TaskKind.SAVE_THE_SALE,
        assignee_id=owner.id,
        customer_id=customer.id,
        call_id=ctx.call.id if ctx.call else None,
        job_id=job.id if job else None,
        description=f"Save the sale: {disposition.refund_reason}",
        due_at=now + timedelta(days=1),
    )
    session.add(task)
    session.flush()
    recipients: list[tuple[str, str]] = []
    if ctx.salesperson is not None:
        recipients.append((ctx.salesperson.name, ctx.salesperson.email))
    if manager is not None and manager.email not in {e for _, e in recipients}:
        recipients.append((manager.name, manager.email))
    task_url = f"{settings.console_url.rstrip('/')}/tasks/{task.id}"
    escalations = emails.refund_escalations(
        recipients,
        task_id=task.id,
        customer=customer,
        job=job,
        reason=disposition.refund_reason,
        salesperson_name=ctx.salesperson.name if ctx.salesperson else "our",
        coordinator=actor,
        when=f"{now.astimezone(settings.zone):%d %b %Y %H:%M} ({settings.zone.key})",
        task_owner_name=owner.name,
        task_url=task_url,
    )
    emails.queue(session, escalations, now=now)
    result.task = task
    result.job = job
    result.account_manager = manager
    result.details = {
        "task_id": task.id,
        "reason": disposition.refund_reason,
        "job_id": job.id if job else None,
        "escalated_to": [email for _, email in recipients],
    }


# ---------------------------------------------------------------- entry points


def call_state(call: Call) -> str:
    """ "ringing", "in progress" or "ended", as the console shows a call."""
    if call.ended_at is not None or call.status in ENDED_STATUSES:
        return "ended"
    if call.answered_at is not None or call.answered_by_id is not None or call.result == "answered":
        return "in progress"
    return "ringing"


def was_answered(call: Call) -> bool:
    return (
        call.answered_at is not None
        or call.answered_by_id is not None
        or call.result in {"answered", "teleconference"}
    )


def _closed_message(session: Session, by_id: int | None, at: datetime | None, what: str) -> str:
    who = session.get(User, by_id) if by_id else None
    when = f" at {at:%H:%M} UTC" if at else ""
    return f"This {what} was already closed by {who.name if who else 'someone'}{when}."


def dispose_call(
    session: Session,
    call_id: int,
    form: Mapping[str, Any],
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime | None = None,
) -> DispositionResult:
    """End an answered call with one outcome. Nothing is committed here: the caller commits.

    Raises ``CallNotFound``, ``AlreadyDisposed`` (closed before, or by a coordinator who
    submitted a moment earlier), ``InvalidDisposition`` or ``SlotTaken``.
    """
    now = now or utcnow()
    call = session.get(Call, call_id)
    if call is None:
        raise CallNotFound("There is no such call.")
    if call.disposed_at is not None:
        raise AlreadyDisposed(
            _closed_message(session, call.disposed_by_id, call.disposed_at, "call")
        )
    if not was_answered(call):
        raise AlreadyDisposed(
            "Nobody answered this call: it is followed up from the missed-enquiries queue."
        )
    disposition = parse_disposition(form, zone=settings.zone, region=settings.region)
    return _close(session, call, None, disposition, actor=actor, settings=settings, now=now)


def resolve_enquiry(
    session: Session,
    enquiry_id: int,
    form: Mapping[str, Any],
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime | None = None,
) -> DispositionResult:
    """Resolve a missed enquiry with the same outcomes as an answered call."""
    now = now or utcnow()
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise EnquiryNotFound("There is no such enquiry.")
    if enquiry.status is EnquiryStatus.RESOLVED:
        raise AlreadyDisposed(
            _closed_message(session, enquiry.resolved_by_id, enquiry.resolved_at, "enquiry")
        )
    disposition = parse_disposition(form, zone=settings.zone, region=settings.region)
    call = session.get(Call, enquiry.call_id) if enquiry.call_id else None
    return _close(session, call, enquiry, disposition, actor=actor, settings=settings, now=now)


def _close(
    session: Session,
    call: Call | None,
    enquiry: Enquiry | None,
    disposition: Disposition,
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> DispositionResult:
    # Claim first: a conditional UPDATE is atomic, and on PostgreSQL a concurrent one waits
    # for ours and then matches no row. Everything below rolls back with it on error.
    if enquiry is not None:
        claimed = session.execute(
            update(Enquiry)
            .where(Enquiry.id == enquiry.id, Enquiry.status != EnquiryStatus.RESOLVED)
            .values(
                status=EnquiryStatus.RESOLVED,
                resolved_at=now,
                resolved_by_id=actor.id,
                outcome=disposition.outcome,
                owner_id=enquiry.owner_id or actor.id,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise AlreadyDisposed("Another coordinator has just resolved this enquiry.")
        session.refresh(enquiry)
    if call is not None and call.disposed_at is None:
        claimed = session.execute(
            update(Call)
            .where(Call.id == call.id, Call.disposed_at.is_(None))
            .values(
                outcome=disposition.outcome,
                disposed_at=now,
                disposed_by_id=actor.id,
                caller_declined=disposition.caller_declined,
                disposition_notes=disposition.notes,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1 and enquiry is None:
            raise AlreadyDisposed("Another coordinator has just closed this call.")
        session.refresh(call)
    line = None
    if call is not None and call.line_id:
        line = session.get(Line, call.line_id)
    elif enquiry is not None and enquiry.line_id:
        line = session.get(Line, enquiry.line_id)
    known_id = (call.customer_id if call else None) or (enquiry.customer_id if enquiry else None)
    known = session.get(Customer, known_id) if known_id else None
    customer = resolve_caller(session, disposition, known=known, line=line, actor=actor)
    if call is not None and customer is not None and call.customer_id != customer.id:
        call.customer_id = customer.id
    if enquiry is not None and customer is not None:
        enquiry.customer_id = customer.id
    ctx = _Context(
        call=call,
        enquiry=enquiry,
        line=line,
        salesperson=_salesperson_for(session, line, customer),
        customer=customer,
    )
    live = call is not None and enquiry is None and call_state(call) == "in progress"
    result = _apply_outcome(
        session, ctx, disposition, actor=actor, settings=settings, now=now, live_call=live
    )
    result.customer = customer
    details = {
        **result.details,
        "outcome": disposition.outcome.value,
        "caller_declined": disposition.caller_declined,
        "customer_id": customer.id if customer else None,
    }
    if call is not None and call.disposed_by_id == actor.id:
        call.disposition_details = details
    if enquiry is not None:
        if disposition.notes:
            enquiry.notes = "\n".join(filter(None, [enquiry.notes, disposition.notes]))
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="enquiry" if enquiry is not None else "call",
        entity_id=enquiry.id if enquiry is not None else call.id,
        action="disposed",
        details=details,
    )
    session.flush()
    return result


TASK_OUTCOMES = {
    TaskKind.SAVE_THE_SALE: ("saved", "lost"),
    TaskKind.CALLBACK: ("done", "unreachable"),
}


def close_task(
    session: Session,
    task_id: int,
    *,
    outcome: str,
    why: str,
    actor: User,
    now: datetime | None = None,
) -> Task:
    """Close a task with its outcome and what happened (both required).

    A save-the-sale task ends "saved" or "lost"; a callback "done" or "unreachable".
    """
    task = session.get(Task, task_id)
    if task is None:
        raise TaskNotFound("There is no such task.")
    if task.status is TaskStatus.DONE:
        raise AlreadyDisposed("This task is already closed.")
    if actor.role is not Role.ADMIN and task.assignee_id != actor.id:
        raise NotYourTask("This task belongs to someone else.")
    errors = {}
    allowed = TASK_OUTCOMES[task.kind]
    if outcome not in allowed:
        errors["outcome"] = "Choose " + " or ".join(allowed) + "."
    if not why.strip():
        errors["outcome_notes"] = "Say what happened."
    if errors:
        raise InvalidDisposition(errors)
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.outcome_notes = why.strip()
    task.done_at = now or utcnow()
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="task",
        entity_id=task.id,
        action=f"closed_{outcome}",
        details={"why": task.outcome_notes},
    )
    session.flush()
    return task
