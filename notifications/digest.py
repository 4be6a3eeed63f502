"""The salesperson's daily digest: what happened on their old line today, what is next.

Salespeople no longer answer their old mobile number; this email tells them, once a day,
who called, what the coordinators did with each call (appointment booked, handed to an
account manager, refund request …), which callers still wait for a call back, and the
appointments coming up until the end of the next business day ("tomorrow's"). A
salesperson with no calls but appointments coming up still gets it.

Run periodically by the worker. The digest for a local day falls due when the team
closes that day (end of day when closed); a run finds every salesperson with calls that
day and queues one email each. The idempotency key ``digest:<salesperson>:<day>`` makes
re-runs and racing workers harmless, and a run also catches up yesterday's digest after
a worker outage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import (
    Appointment,
    BookingStatus,
    Call,
    CallResult,
    Customer,
    Enquiry,
    EnquiryStatus,
    Line,
    OutboundEmail,
    Salesperson,
)
from models.contact import format_phone
from models.hours import BusinessCalendar
from models.organisation import current_settings

from . import emails

RESULT_WORDS = {
    CallResult.ANSWERED.value: "answered",
    CallResult.VOICEMAIL.value: "voicemail left",
    CallResult.ABANDONED.value: "caller hung up before anyone answered",
    CallResult.NO_ANSWER.value: "not answered",
    CallResult.FALLBACK.value: "sent to the fallback number",
    CallResult.RINGING.value: "ringing",
}
OUTCOME_WORDS = {
    "appointment": "appointment booked with you",
    "teleconference": "teleconference booked",
    "account_management": "handed to an account manager",
    "refund_request": "refund or cancellation request (escalated to you)",
    "general_enquiry": "general enquiry, handled",
    "wrong_number": "wrong number or spam",
}


@dataclass(frozen=True)
class DigestCall:
    at: str
    caller: str
    result: str
    outcome: str
    handled_by: str
    notes: str


def digest_due_at(calendar: BusinessCalendar, day: date) -> datetime:
    """When the digest for local ``day`` may go: closing time, or the end of a closed day."""
    period = calendar.opening_period(day)
    if period is not None and calendar.hours:
        return period[1]
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=calendar.timezone).astimezone(
        UTC
    )


def _day_bounds(calendar: BusinessCalendar, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=calendar.timezone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=calendar.timezone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _coming_up(calendar: BusinessCalendar, day: date) -> tuple[datetime, datetime]:
    """From the end of ``day`` to the end of the next business day (weekends included)."""
    following = day + timedelta(days=1)
    for _ in range(14):
        if calendar.is_business_day(following):
            break
        following += timedelta(days=1)
    return _day_bounds(calendar, day)[1], _day_bounds(calendar, following)[1]


def _caller(call: Call) -> str:
    if call.customer is not None:
        who = call.customer.name
        if call.customer.company:
            who += f" ({call.customer.company})"
        return who
    return format_phone(call.caller_number) or "Withheld number"


def queue_salesperson_digests(
    session: Session,
    *,
    now: datetime,
    default_timezone: str = "UTC",
    console_url: str = "http://127.0.0.1:5000",
) -> int:
    """Queue every digest that is due and not yet queued; returns how many were queued.

    Adds to the caller's transaction; the caller commits.
    """
    calendar = BusinessCalendar.load(session, default_timezone)
    today = calendar.local(now).date()
    queued = 0
    for day in (today - timedelta(days=1), today):
        if now < digest_due_at(calendar, day):
            continue
        queued += _queue_day(session, calendar, day, console_url, now)
    return queued


def _queue_day(
    session: Session, calendar: BusinessCalendar, day: date, console_url: str, now: datetime
) -> int:
    start, end = _day_bounds(calendar, day)
    calls = session.scalars(
        select(Call)
        .join(Line, Line.id == Call.line_id)
        .where(Call.started_at >= start, Call.started_at < end)
        .options(
            selectinload(Call.customer),
            selectinload(Call.answered_by),
            selectinload(Call.line).selectinload(Line.salesperson),
        )
        .order_by(Call.started_at)
    ).all()
    by_salesperson: dict[int, list[Call]] = {}
    for call in calls:
        if call.line is not None and call.result != CallResult.TELECONFERENCE.value:
            by_salesperson.setdefault(call.line.salesperson_id, []).append(call)
    coming_start, coming_end = _coming_up(calendar, day)
    for salesperson_id in session.scalars(
        select(Appointment.salesperson_id).where(
            Appointment.status == BookingStatus.BOOKED,
            Appointment.start_at >= coming_start,
            Appointment.start_at < coming_end,
        )
    ):
        by_salesperson.setdefault(salesperson_id, [])
    if not by_salesperson:
        return 0
    keys = {sid: f"digest:{sid}:{day.isoformat()}" for sid in by_salesperson}
    already = set(
        session.scalars(
            select(OutboundEmail.idempotency_key).where(
                OutboundEmail.idempotency_key.in_(list(keys.values()))
            )
        )
    )
    org = current_settings(session)
    org_name = org.name if org and org.name else "Switchboard"
    queued = 0
    for salesperson_id, their_calls in by_salesperson.items():
        if keys[salesperson_id] in already:
            continue
        salesperson = session.get(Salesperson, salesperson_id)
        if salesperson is None or not salesperson.active:
            continue
        _queue_one(session, calendar, day, salesperson, their_calls, org_name, console_url, now)
        queued += 1
    return queued


def _queue_one(
    session: Session,
    calendar: BusinessCalendar,
    day: date,
    salesperson: Salesperson,
    calls: list[Call],
    org_name: str,
    console_url: str,
    now: datetime,
) -> None:
    coming_start, coming_end = _coming_up(calendar, day)
    emails.send_salesperson_digest(
        session,
        salesperson,
        f"{day:%A %d %B %Y}",
        day.isoformat(),
        org_name=org_name,
        calls=[_digest_call(calendar, call) for call in calls],
        answered=sum(1 for call in calls if call.result == CallResult.ANSWERED.value),
        appointments=_booked_that_day(session, calendar, day, salesperson),
        coming_until=f"{calendar.local(coming_end - timedelta(seconds=1)):%A %d %B}",
        coming=_coming(session, calendar, salesperson, coming_start, coming_end),
        waiting=_waiting(session, salesperson),
        console_url=console_url.rstrip("/"),
        now=now,
    )


def _digest_call(calendar: BusinessCalendar, call: Call) -> DigestCall:
    return DigestCall(
        at=f"{calendar.local(call.started_at):%H:%M}",
        caller=_caller(call),
        result=RESULT_WORDS.get(call.result or "", call.result or "in progress"),
        outcome=OUTCOME_WORDS.get(call.outcome.value, call.outcome.value) if call.outcome else "",
        handled_by=call.answered_by.name if call.answered_by else "",
        notes=call.disposition_notes or "",
    )


def _booked_that_day(
    session: Session, calendar: BusinessCalendar, day: date, salesperson: Salesperson
) -> list[dict[str, str]]:
    """Appointments the coordinators booked for her that day."""
    start, end = _day_bounds(calendar, day)
    appointments = session.scalars(
        select(Appointment)
        .where(
            Appointment.salesperson_id == salesperson.id,
            Appointment.created_at >= start,
            Appointment.created_at < end,
        )
        .options(selectinload(Appointment.customer))
        .order_by(Appointment.start_at)
    ).all()
    return [
        {
            "when": f"{calendar.local(a.start_at):%a %d %b %H:%M}",
            "customer": a.customer.name,
            "place": a.place or "",
        }
        for a in appointments
    ]


def _coming(
    session: Session,
    calendar: BusinessCalendar,
    salesperson: Salesperson,
    start: datetime,
    end: datetime,
) -> list[dict[str, str]]:
    """Her booked appointments starting in [start, end)."""
    coming = session.scalars(
        select(Appointment)
        .where(
            Appointment.salesperson_id == salesperson.id,
            Appointment.status == BookingStatus.BOOKED,
            Appointment.start_at >= start,
            Appointment.start_at < end,
        )
        .options(selectinload(Appointment.customer))
        .order_by(Appointment.start_at)
    ).all()
    return [
        {
            "when": f"{calendar.local(a.start_at):%a %d %b %H:%M}–{calendar.local(a.end_at):%H:%M}",
            "customer": a.customer.name
            + (f" ({a.customer.company})" if a.customer.company else ""),
            "phone": format_phone(a.customer.phone) if a.customer.phone else "",
            "place": a.place or "",
        }
        for a in coming
    ]


def _customer_name(customer: Customer) -> str:
    return customer.name + (f" ({customer.company})" if customer.company else "")


def _waiting(session: Session, salesperson: Salesperson) -> list[dict[str, str]]:
    """Callers on her lines still waiting for a call back, the most urgent first."""
    line_ids = [line.id for line in salesperson.lines]
    waiting = session.scalars(
        select(Enquiry)
        .where(Enquiry.line_id.in_(line_ids), Enquiry.status != EnquiryStatus.RESOLVED)
        .options(selectinload(Enquiry.customer))
        .order_by(Enquiry.sla_deadline)
    ).all()
    return [
        {
            "caller": enquiry.customer.name
            if enquiry.customer
            else format_phone(enquiry.caller_number) or "Withheld number",
            "kind": enquiry.kind.value,
            "transcript": enquiry.transcript or "",
        }
        for enquiry in waiting
    ]


def run_digests(runtime: Any) -> int:
    """Periodic worker job (see ``notifications.worker.PERIODIC_JOBS``): queue due digests."""
    config = runtime.config
    with runtime.db.Session() as session:
        count = queue_salesperson_digests(
            session,
            now=runtime.clock(),
            default_timezone=getattr(config, "TIMEZONE", None) or "UTC",
            console_url=getattr(config, "PUBLIC_BASE_URL", None) or "http://127.0.0.1:5000",
        )
        session.commit()
    return count
