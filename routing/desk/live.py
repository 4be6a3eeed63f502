"""What is happening on the phones now, and everything a coordinator needs about one call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from models import (
    Appointment,
    BookingStatus,
    Call,
    Customer,
    Enquiry,
    EnquiryStatus,
    Job,
    Line,
    Salesperson,
    Task,
    TaskStatus,
    User,
)
from models.contact import format_phone
from models.job import OPEN_JOB_STATUSES

from .disposition import ENDED_STATUSES, call_state

# Ended calls stay on the live page this long so a coordinator sees how they ended.
JUST_ENDED_MINUTES = 15
MAX_CALL_HOURS = 4


def caller_label(call: Call, customer: Customer | None) -> str:
    if customer is not None:
        return customer.name
    if call.caller_number:
        return format_phone(call.caller_number)
    if (call.from_number or "").strip().lower() in {"", "anonymous", "restricted", "unknown"}:
        return "Withheld number"
    return call.from_number


def call_url(call_id: int) -> str:
    """Where a call's screen-pop is (the live page and its JSON link here)."""
    return f"/calls/{call_id}"


def live_calls(
    session: Session,
    *,
    zone: ZoneInfo,
    viewer_id: int | None = None,
    now: datetime,
    limit: int = 100,
) -> dict[str, Any]:
    """Ringing, in-progress and just-ended calls, newest first, as plain JSON-able data.

    ``pop_call_id`` is the call the viewer answered and has not yet closed: the console
    opens its screen-pop for her (at ``pop_url``).
    """
    since = now - timedelta(minutes=JUST_ENDED_MINUTES)
    calls = session.scalars(
        select(Call)
        .where(
            # Twilio ends every call after four hours at most: the index on started_at
            # narrows the scan to those, whatever the size of the history.
            Call.started_at >= now - timedelta(hours=MAX_CALL_HOURS),
            or_(
                Call.status.not_in(ENDED_STATUSES) & Call.ended_at.is_(None),
                Call.ended_at >= since,
                Call.ended_at.is_(None) & (Call.started_at >= since),
            ),
        )
        .options(
            selectinload(Call.customer),
            selectinload(Call.line).selectinload(Line.salesperson),
            selectinload(Call.answered_by),
        )
        .order_by(Call.started_at.desc(), Call.id.desc())
        .limit(limit)
    ).all()
    rows = []
    pop_call_id = None
    for call in calls:
        state = call_state(call)
        salesperson = call.line.salesperson if call.line else None
        needs_disposition = (
            state != "ringing"
            and call.disposed_at is None
            and (call.answered_by_id is not None or call.answered_at is not None)
        )
        if (
            viewer_id is not None
            and call.answered_by_id == viewer_id
            and needs_disposition
            and pop_call_id is None
        ):
            pop_call_id = call.id
        rows.append(
            {
                "id": call.id,
                "state": state,
                "status": call.status,
                "result": call.result,
                "caller": caller_label(call, call.customer),
                "caller_number": format_phone(call.caller_number),
                "company": call.customer.company if call.customer else None,
                "known_customer": call.customer is not None,
                "line": salesperson.name if salesperson else "Unknown line",
                "started": call.started_at.astimezone(zone).strftime("%H:%M:%S"),
                "started_at": call.started_at.isoformat(),
                "answered_by": call.answered_by.name if call.answered_by else None,
                "outcome": call.outcome.value if call.outcome else None,
                "needs_disposition": needs_disposition,
                "url": call_url(call.id),
            }
        )
    return {
        "calls": rows,
        "pop_call_id": pop_call_id,
        "pop_url": call_url(pop_call_id) if pop_call_id else None,
        "now": now.isoformat(),
    }


def calls_awaiting_outcome(
    session: Session, user_id: int, *, now: datetime, days: int = 7
) -> list[Call]:
    """Calls this coordinator answered in the last ``days`` that still have no outcome."""
    return list(
        session.scalars(
            select(Call)
            .where(
                Call.started_at >= now - timedelta(days=days),
                Call.answered_by_id == user_id,
                Call.disposed_at.is_(None),
            )
            .options(
                selectinload(Call.customer),
                selectinload(Call.line).selectinload(Line.salesperson),
            )
            .order_by(Call.started_at)
        )
    )


@dataclass
class ScreenPop:
    call: Call
    customer: Customer | None
    line_salesperson: Salesperson | None
    owner: Salesperson | None  # the customer's own salesperson, if another one
    open_jobs: list[Job]
    past_calls: list[Call]
    open_enquiries: list[Enquiry]
    upcoming_appointments: list[Appointment]
    open_tasks: list[Task]
    notes: list[tuple[datetime, str, str]]  # (when, who, text)
    answered_by: User | None


def _from_caller(
    model: type[Call] | type[Enquiry], customer: Customer | None, caller_number: str | None
) -> list[Any]:
    """Conditions matching rows of `model` from this caller: the known customer or the
    number they rang from. Empty when neither is known, so nothing should be looked up."""
    conditions: list[Any] = []
    if customer is not None:
        conditions.append(model.customer_id == customer.id)
    if caller_number:
        conditions.append(model.caller_number == caller_number)
    return conditions


def screen_pop(session: Session, call_id: int, *, now: datetime) -> ScreenPop | None:
    """Whose customer is this and what is going on: one query per section, no N+1."""
    call = session.get(Call, call_id)
    if call is None:
        return None
    customer = call.customer
    line_salesperson = call.line.salesperson if call.line else None
    owner = customer.salesperson if customer and customer.salesperson else None
    if owner is not None and line_salesperson is not None and owner.id == line_salesperson.id:
        owner = None
    past_calls = _past_calls(session, call, customer)
    open_enquiries = _open_enquiries(session, call, customer)
    open_jobs: list[Job] = []
    appointments: list[Appointment] = []
    tasks: list[Task] = []
    if customer is not None:
        open_jobs, appointments, tasks = _customer_sections(session, customer, now)
    return ScreenPop(
        call=call,
        customer=customer,
        line_salesperson=line_salesperson,
        owner=owner,
        open_jobs=open_jobs,
        past_calls=past_calls,
        open_enquiries=open_enquiries,
        upcoming_appointments=appointments,
        open_tasks=tasks,
        notes=_notes(customer, past_calls, open_enquiries),
        answered_by=call.answered_by,
    )


def _past_calls(session: Session, call: Call, customer: Customer | None) -> list[Call]:
    same_caller = _from_caller(Call, customer, call.caller_number)
    if not same_caller:
        return []
    return list(
        session.scalars(
            select(Call)
            .where(or_(*same_caller), Call.id != call.id)
            .options(selectinload(Call.answered_by))
            .order_by(Call.started_at.desc())
            .limit(10)
        )
    )


def _open_enquiries(session: Session, call: Call, customer: Customer | None) -> list[Enquiry]:
    enquiry_match = _from_caller(Enquiry, customer, call.caller_number)
    if not enquiry_match:
        return []
    return list(
        session.scalars(
            select(Enquiry)
            .where(or_(*enquiry_match), Enquiry.status != EnquiryStatus.RESOLVED)
            .order_by(Enquiry.sla_deadline)
        )
    )


def _customer_sections(
    session: Session, customer: Customer, now: datetime
) -> tuple[list[Job], list[Appointment], list[Task]]:
    """The known caller's open jobs, upcoming appointments and open tasks."""
    open_jobs = list(
        session.scalars(
            select(Job)
            .where(Job.customer_id == customer.id, Job.status.in_(OPEN_JOB_STATUSES))
            .options(selectinload(Job.account_manager))
            .order_by(Job.created_at.desc())
        )
    )
    appointments = list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.customer_id == customer.id,
                Appointment.end_at >= now,
                Appointment.status == BookingStatus.BOOKED,
            )
            .options(selectinload(Appointment.salesperson))
            .order_by(Appointment.start_at)
        )
    )
    tasks = list(
        session.scalars(
            select(Task)
            .where(Task.customer_id == customer.id, Task.status == TaskStatus.OPEN)
            .options(selectinload(Task.assignee))
            .order_by(Task.due_at)
        )
    )
    return open_jobs, appointments, tasks


def _notes(
    customer: Customer | None, past_calls: list[Call], open_enquiries: list[Enquiry]
) -> list[tuple[datetime, str, str]]:
    """What anyone wrote about this caller: customer notes, past calls', voicemails."""
    notes: list[tuple[datetime, str, str]] = []
    if customer is not None and customer.notes:
        notes.append((customer.updated_at, "Customer notes", customer.notes))
    for past in past_calls:
        if past.disposition_notes:
            who = past.answered_by.name if past.answered_by else "Coordinator"
            notes.append((past.started_at, who, past.disposition_notes))
    for enquiry in open_enquiries:
        if enquiry.transcript:
            notes.append((enquiry.created_at, "Voicemail", enquiry.transcript))
    return notes
