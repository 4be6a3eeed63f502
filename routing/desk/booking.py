"""Appointments in a salesperson's free slots, and teleconferences with a dial-in PIN.

Free slots are the team's working hours (business hours, minus holidays) in the
organisation's zone, cut into ``SLOT_MINUTES`` slots, minus the slots existing appointments
claim. The unique (salesperson, slot_start) constraint on ``appointment_slots`` is what
makes a double booking impossible when two coordinators submit the same slot at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Appointment,
    AppointmentSlot,
    BusinessCalendar,
    Customer,
    Salesperson,
    Teleconference,
    TeleconferenceParticipant,
    User,
    audit,
    utcnow,
)
from models.contact import format_phone
from models.directory import current_settings
from notifications.outbox import enqueue_email
from notifications.templates import render_email

from .calendar import ics_attachment, invite_ics
from .errors import InvalidDisposition, SlotTaken

SLOT_MINUTES = 30
APPOINTMENT_LENGTHS = (30, 60, 90)
TELECONFERENCE_LENGTHS = (15, 30, 45, 60, 90)
# How far ahead the console offers slots.
BOOKING_HORIZON_DAYS = 14
PIN_DIGITS = 6


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC


def _slot_delta() -> timedelta:
    return timedelta(minutes=SLOT_MINUTES)


def working_windows(
    session: Session, first_day: date, days: int, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Opening periods (UTC) of ``days`` local days from ``first_day``, holidays excluded.

    Salespeople work the team's business hours. An organisation with no hours set yet
    offers no appointment slots (rather than slots around the clock).
    """
    calendar = BusinessCalendar.load(session, default_timezone=zone.key)
    if not calendar.hours:
        return []
    calendar = replace(calendar, timezone=zone)
    periods = (calendar.opening_period(first_day + timedelta(days=n)) for n in range(days))
    return [period for period in periods if period is not None]


def taken_slots(session: Session, salesperson_id: int, start: datetime, end: datetime) -> set:
    rows = session.scalars(
        select(AppointmentSlot.slot_start).where(
            AppointmentSlot.salesperson_id == salesperson_id,
            AppointmentSlot.slot_start >= start,
            AppointmentSlot.slot_start < end,
        )
    )
    return {moment.astimezone(UTC) for moment in rows}


def free_slots(
    session: Session,
    salesperson_id: int,
    *,
    zone: ZoneInfo,
    now: datetime | None = None,
    days: int = BOOKING_HORIZON_DAYS,
    length_minutes: int = SLOT_MINUTES,
) -> list[Slot]:
    """Start times (UTC) where an appointment of ``length_minutes`` fits, soonest first."""
    now = now or utcnow()
    needed = max(1, -(-length_minutes // SLOT_MINUTES))
    windows = working_windows(session, now.astimezone(zone).date(), days, zone)
    if not windows:
        return []
    taken = taken_slots(session, salesperson_id, windows[0][0], windows[-1][1])
    result = []
    for opens, closes in windows:
        start = opens
        while start + needed * _slot_delta() <= closes:
            covered = [start + i * _slot_delta() for i in range(needed)]
            if start > now and not any(moment in taken for moment in covered):
                result.append(Slot(start, start + timedelta(minutes=length_minutes)))
            start += _slot_delta()
    return result


def book_appointment(
    session: Session,
    *,
    salesperson: Salesperson,
    customer: Customer,
    start: datetime,
    length_minutes: int,
    zone: ZoneInfo,
    actor: User,
    mail_from: str,
    place: str | None = None,
    notes: str | None = None,
    call_id: int | None = None,
    now: datetime | None = None,
) -> Appointment:
    """Book a free slot, claim every slot it covers, and queue ICS invites to both sides.

    Raises ``SlotTaken`` if the slot is outside working hours, in the past, or booked —
    including by a concurrent transaction that commits first.
    """
    if start.tzinfo is None:
        raise ValueError("appointment start must be timezone-aware")
    now = now or utcnow()
    if length_minutes not in APPOINTMENT_LENGTHS:
        raise InvalidDisposition({"length_minutes": "Choose one of the offered lengths."})
    start = start.astimezone(UTC)
    offered = {
        slot.start
        for slot in free_slots(
            session,
            salesperson.id,
            zone=zone,
            now=now,
            days=BOOKING_HORIZON_DAYS + 1,
            length_minutes=length_minutes,
        )
    }
    if start not in offered:
        raise SlotTaken(
            "That slot is no longer free for "
            f"{salesperson.name}. Please pick another one from the list."
        )
    end = start + timedelta(minutes=length_minutes)
    appointment = Appointment(
        salesperson_id=salesperson.id,
        customer_id=customer.id,
        call_id=call_id,
        start_at=start,
        end_at=end,
        place=(place or "").strip() or None,
        notes=(notes or "").strip() or None,
        created_by_id=actor.id,
    )
    try:
        # A savepoint: losing the race leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(appointment)
            session.flush()
            moment = start
            while moment < end:
                session.add(
                    AppointmentSlot(
                        appointment_id=appointment.id,
                        salesperson_id=salesperson.id,
                        slot_start=moment,
                    )
                )
                moment += _slot_delta()
            session.flush()
    except IntegrityError:
        raise SlotTaken(
            f"Another coordinator has just booked that slot with {salesperson.name}. "
            "Please pick another one."
        ) from None
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="appointment",
        entity_id=appointment.id,
        action="booked",
        details={
            "salesperson_id": salesperson.id,
            "customer_id": customer.id,
            "start": start.isoformat(),
            "minutes": length_minutes,
        },
    )
    _queue_appointment_invites(session, appointment, salesperson, customer, zone, mail_from, now)
    return appointment


def _queue_appointment_invites(
    session: Session,
    appointment: Appointment,
    salesperson: Salesperson,
    customer: Customer,
    zone: ZoneInfo,
    mail_from: str,
    now: datetime,
) -> None:
    recipients = [(salesperson.name, salesperson.email)]
    if customer.email:
        recipients.insert(0, (customer.name, customer.email))
    summary = f"Appointment: {customer.name} with {salesperson.name}"
    ics = invite_ics(
        uid=f"appointment-{appointment.id}@switchboard",
        start=appointment.start_at,
        end=appointment.end_at,
        summary=summary,
        description=appointment.notes or summary,
        location=appointment.place,
        organizer=mail_from,
        attendees=recipients,
        stamp=now,
    )
    local_start = appointment.start_at.astimezone(zone)
    local_end = appointment.end_at.astimezone(zone)
    for name, email in recipients:
        rendered = render_email(
            "appointment-invite",
            recipient_name=name,
            customer=customer,
            salesperson=salesperson,
            appointment=appointment,
            when=f"{local_start:%A %d %B %Y, %H:%M}–{local_end:%H:%M} ({zone.key})",
            for_salesperson=email == salesperson.email,
        )
        enqueue_email(
            session,
            now=now,
            kind="appointment-invite",
            idempotency_key=f"appointment-invite:{appointment.id}:{email}",
            to_email=email,
            to_name=name,
            subject=rendered.subject,
            text_body=rendered.text_body,
            html_body=rendered.html_body,
            from_name=salesperson.name,
            reply_to=salesperson.email if email != salesperson.email else None,
            attachments=[ics_attachment(ics)],
        )


def _unique_pin(session: Session, now: datetime) -> str:
    """A PIN no upcoming or running teleconference uses (callers are joined by PIN)."""
    in_use = set(session.scalars(select(Teleconference.pin).where(Teleconference.end_at >= now)))
    for _ in range(100):
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        if pin not in in_use:
            return pin
    raise RuntimeError("could not find a free teleconference PIN")


def create_teleconference(
    session: Session,
    *,
    title: str,
    start: datetime,
    length_minutes: int,
    participants: Sequence[tuple[str, str]],
    zone: ZoneInfo,
    actor: User,
    mail_from: str,
    customer: Customer | None = None,
    salesperson: Salesperson | None = None,
    call_id: int | None = None,
    now: datetime | None = None,
) -> Teleconference:
    """Schedule a teleconference with a fresh PIN and queue an ICS invite to everyone.

    ``participants`` are (name, email) pairs already validated; the customer and the
    salesperson are added when given and not already listed.
    """
    now = now or utcnow()
    errors: dict[str, str] = {}
    if start.tzinfo is None:
        raise ValueError("teleconference start must be timezone-aware")
    if start <= now:
        errors["conference_start"] = "The teleconference must be in the future."
    if length_minutes not in TELECONFERENCE_LENGTHS:
        errors["conference_minutes"] = "Choose one of the offered lengths."
    settings = current_settings(session)
    dial_in = settings.teleconference_number if settings else None
    if not dial_in:
        errors["conference_start"] = (
            "No teleconference dial-in number is configured: an admin sets it in Settings."
        )
    everyone: list[tuple[str, str]] = []
    seen: set[str] = set()
    extra = []
    if customer is not None and customer.email:
        extra.append((customer.name, customer.email))
    if salesperson is not None:
        extra.append((salesperson.name, salesperson.email))
    for name, email in [*extra, *participants]:
        if email.lower() not in seen:
            seen.add(email.lower())
            everyone.append((name, email))
    if len(everyone) < 2:
        errors.setdefault("participants", "A teleconference needs at least two participants.")
    if errors:
        raise InvalidDisposition(errors)

    start = start.astimezone(UTC)
    conference = Teleconference(
        title=title.strip() or "Teleconference",
        start_at=start,
        end_at=start + timedelta(minutes=length_minutes),
        dial_in_number=dial_in,
        pin=_unique_pin(session, now),
        room=f"conference-{secrets.token_hex(8)}",
        customer_id=customer.id if customer else None,
        salesperson_id=salesperson.id if salesperson else None,
        call_id=call_id,
        created_by_id=actor.id,
        participants=[TeleconferenceParticipant(name=n, email=e) for n, e in everyone],
    )
    session.add(conference)
    session.flush()
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="teleconference",
        entity_id=conference.id,
        action="scheduled",
        details={"start": start.isoformat(), "participants": [e for _, e in everyone]},
    )
    local_start = conference.start_at.astimezone(zone)
    local_end = conference.end_at.astimezone(zone)
    ics = invite_ics(
        uid=f"teleconference-{conference.id}@switchboard",
        start=conference.start_at,
        end=conference.end_at,
        summary=conference.title,
        description=(
            f"Dial {format_phone(conference.dial_in_number)} and enter PIN {conference.pin}."
        ),
        location=f"Phone {format_phone(conference.dial_in_number)}, PIN {conference.pin}",
        organizer=mail_from,
        attendees=everyone,
        stamp=now,
    )
    for name, email in everyone:
        rendered = render_email(
            "teleconference-invite",
            recipient_name=name,
            conference=conference,
            dial_in=format_phone(conference.dial_in_number),
            when=f"{local_start:%A %d %B %Y, %H:%M}–{local_end:%H:%M} ({zone.key})",
            participants=everyone,
        )
        enqueue_email(
            session,
            now=now,
            kind="teleconference-invite",
            idempotency_key=f"teleconference-invite:{conference.id}:{email.lower()}",
            to_email=email,
            to_name=name,
            subject=rendered.subject,
            text_body=rendered.text_body,
            html_body=rendered.html_body,
            attachments=[ics_attachment(ics)],
        )
    return conference


def week_appointments(
    session: Session, salesperson_id: int, start: datetime, end: datetime
) -> list[Appointment]:
    """A salesperson's appointments overlapping [start, end), in order."""
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.salesperson_id == salesperson_id,
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
    )
