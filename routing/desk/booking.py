"""Appointments in a salesperson's free slots, and teleconferences with a dial-in PIN.

Free slots are the salesperson's working periods (her own hours or the team's, minus
holidays and her time off: see ``availability``) in the organisation's zone, cut into
``SLOT_MINUTES`` slots, minus the slots booked appointments claim. The unique
(salesperson, slot_start) constraint on ``appointment_slots`` is what makes a double
booking impossible when two coordinators submit the same slot at once — for a new
booking and for a move alike. Moves and cancellations live in ``changes``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Appointment,
    AppointmentSlot,
    BookingStatus,
    Customer,
    Salesperson,
    Teleconference,
    TeleconferenceParticipant,
    User,
    audit,
)
from models.contact import format_phone
from models.organisation import current_settings
from notifications import emails
from notifications.reminders import ReminderLinks, plan_reminder, release_ended_pins

from .availability import APPOINTMENT_LENGTHS, working_windows
from .calendar import ics_attachment, invite_ics
from .errors import InvalidDisposition, SlotTaken

SLOT_MINUTES = 30
TELECONFERENCE_LENGTHS = (15, 30, 45, 60, 90)
# How far ahead the console offers slots.
BOOKING_HORIZON_DAYS = 14
PIN_DIGITS = 6
# Used only where no settings are passed (tests, scripts): views pass the real ones.
DEFAULT_LINKS = ReminderLinks("http://127.0.0.1:5000", "development-secret-key-not-for-production")


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC


def _slot_delta() -> timedelta:
    return timedelta(minutes=SLOT_MINUTES)


def taken_slots(
    session: Session,
    salesperson_id: int,
    start: datetime,
    end: datetime,
    ignore_appointment_id: int | None = None,
) -> set:
    query = select(AppointmentSlot.slot_start).where(
        AppointmentSlot.salesperson_id == salesperson_id,
        AppointmentSlot.slot_start >= start,
        AppointmentSlot.slot_start < end,
    )
    if ignore_appointment_id is not None:
        query = query.where(AppointmentSlot.appointment_id != ignore_appointment_id)
    return {moment.astimezone(UTC) for moment in session.scalars(query)}


def free_slots(
    session: Session,
    salesperson_id: int,
    *,
    zone: ZoneInfo,
    now: datetime,
    days: int = BOOKING_HORIZON_DAYS,
    length_minutes: int = SLOT_MINUTES,
    ignore_appointment_id: int | None = None,
) -> list[Slot]:
    """Start times (UTC) where an appointment of ``length_minutes`` fits, soonest first.

    ``ignore_appointment_id``: the slots that appointment holds count as free (moving it
    by half an hour may overlap where it is now).
    """
    needed = max(1, -(-length_minutes // SLOT_MINUTES))
    windows = working_windows(session, salesperson_id, now.astimezone(zone).date(), days, zone)
    if not windows:
        return []
    taken = taken_slots(
        session, salesperson_id, windows[0][0], windows[-1][1], ignore_appointment_id
    )
    result = []
    for opens, closes in windows:
        start = opens
        while start + needed * _slot_delta() <= closes:
            covered = [start + i * _slot_delta() for i in range(needed)]
            if start > now and not any(moment in taken for moment in covered):
                result.append(Slot(start, start + timedelta(minutes=length_minutes)))
            start += _slot_delta()
    return result


def is_offered(
    session: Session,
    salesperson_id: int,
    start: datetime,
    length_minutes: int,
    *,
    zone: ZoneInfo,
    now: datetime,
    ignore_appointment_id: int | None = None,
) -> bool:
    offered = free_slots(
        session,
        salesperson_id,
        zone=zone,
        now=now,
        days=BOOKING_HORIZON_DAYS + 1,
        length_minutes=length_minutes,
        ignore_appointment_id=ignore_appointment_id,
    )
    return start.astimezone(UTC) in {slot.start for slot in offered}


def claim_slots(session: Session, appointment: Appointment) -> None:
    """Claim every slot the appointment covers (flushes: a taken one raises IntegrityError)."""
    moment = appointment.start_at
    while moment < appointment.end_at:
        session.add(
            AppointmentSlot(
                appointment_id=appointment.id,
                salesperson_id=appointment.salesperson_id,
                slot_start=moment,
            )
        )
        moment += _slot_delta()
    session.flush()


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
    now: datetime,
    links: ReminderLinks | None = None,
) -> Appointment:
    """Book a free slot, claim every slot it covers, queue ICS invites to both sides and
    the customer's reminder.

    Raises ``SlotTaken`` if the slot is outside working hours, in the past, or booked —
    including by a concurrent transaction that commits first.
    """
    if start.tzinfo is None:
        raise ValueError("appointment start must be timezone-aware")
    if length_minutes not in APPOINTMENT_LENGTHS:
        raise InvalidDisposition({"length_minutes": "Choose one of the offered lengths."})
    start = start.astimezone(UTC)
    if not is_offered(session, salesperson.id, start, length_minutes, zone=zone, now=now):
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
        status=BookingStatus.BOOKED,
        sequence=0,
    )
    try:
        # A savepoint: losing the race leaves the caller's transaction usable.
        with session.begin_nested():
            session.add(appointment)
            session.flush()
            claim_slots(session, appointment)
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
    queue_appointment_emails(session, appointment, zone=zone, mail_from=mail_from, now=now)
    plan_reminder(session, appointment, now=now, links=links or DEFAULT_LINKS)
    return appointment


def describe(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return f"{local_start:%A %d %B %Y, %H:%M}–{local_end:%H:%M} ({zone.key})"


def appointment_uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.id}@switchboard"


def queue_appointment_emails(
    session: Session,
    appointment: Appointment,
    *,
    zone: ZoneInfo,
    mail_from: str,
    now: datetime,
    old_when: str | None = None,
) -> None:
    """The invite (sequence 0), or the update / cancellation of the same calendar event
    (same UID, the appointment's current SEQUENCE), to the customer and the salesperson."""
    salesperson, customer = appointment.salesperson, appointment.customer
    cancelled = appointment.status is BookingStatus.CANCELLED
    recipients = [(salesperson.name, salesperson.email)]
    if customer.email:
        recipients.insert(0, (customer.name, customer.email))
    summary = f"Appointment: {customer.name} with {salesperson.name}"
    method = "CANCEL" if cancelled else "REQUEST"
    ics = invite_ics(
        uid=appointment_uid(appointment),
        start=appointment.start_at,
        end=appointment.end_at,
        summary=summary,
        description=appointment.notes or summary,
        location=appointment.place,
        organizer=mail_from,
        attendees=recipients,
        stamp=now,
        sequence=appointment.sequence,
        method=method,
    )
    when = describe(appointment.start_at, appointment.end_at, zone)
    emails.send_appointment_invitations(
        session,
        appointment,
        recipients,
        when=when,
        old_when=old_when,
        attachment=ics_attachment(ics, method),
        now=now,
    )


def _insert_with_unique_pin(session: Session, conference: Teleconference, now: datetime) -> None:
    """Give the conference a PIN no active conference holds and insert it.

    ``teleconferences.active_pin`` is unique: the database refuses a PIN another active
    conference holds, even one a concurrent transaction has just taken; then another
    random PIN is tried (callers are joined to a room by PIN alone).
    """
    release_ended_pins(session, now)
    in_use = set(
        session.scalars(
            select(Teleconference.active_pin).where(Teleconference.active_pin.is_not(None))
        )
    )
    for _ in range(100):
        pin = f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"
        if pin in in_use:
            continue
        conference.pin = pin
        conference.active_pin = pin
        try:
            with session.begin_nested():
                session.add(conference)
                session.flush()
            return
        except IntegrityError:
            in_use.add(pin)
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
    now: datetime,
    links: ReminderLinks | None = None,
) -> Teleconference:
    """Schedule a teleconference with a fresh PIN and queue an ICS invite to everyone.

    ``participants`` are (name, email) pairs already validated; the customer and the
    salesperson are added when given and not already listed.
    """
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
        room=f"conference-{secrets.token_hex(8)}",
        customer_id=customer.id if customer else None,
        salesperson_id=salesperson.id if salesperson else None,
        call_id=call_id,
        created_by_id=actor.id,
        status=BookingStatus.BOOKED,
        sequence=0,
        participants=[TeleconferenceParticipant(name=n, email=e) for n, e in everyone],
    )
    _insert_with_unique_pin(session, conference, now)
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="teleconference",
        entity_id=conference.id,
        action="scheduled",
        details={"start": start.isoformat(), "participants": [e for _, e in everyone]},
    )
    queue_teleconference_emails(session, conference, zone=zone, mail_from=mail_from, now=now)
    plan_reminder(session, conference, now=now, links=links or DEFAULT_LINKS)
    return conference


def queue_teleconference_emails(
    session: Session,
    conference: Teleconference,
    *,
    zone: ZoneInfo,
    mail_from: str,
    now: datetime,
    old_when: str | None = None,
) -> None:
    """Invite, update or cancellation (same UID, current SEQUENCE) to every participant."""
    everyone = [(p.name, p.email) for p in conference.participants]
    cancelled = conference.status is BookingStatus.CANCELLED
    method = "CANCEL" if cancelled else "REQUEST"
    dial_in = format_phone(conference.dial_in_number)
    ics = invite_ics(
        uid=f"teleconference-{conference.id}@switchboard",
        start=conference.start_at,
        end=conference.end_at,
        summary=conference.title,
        description=f"Dial {dial_in} and enter PIN {conference.pin}.",
        location=f"Phone {dial_in}, PIN {conference.pin}",
        organizer=mail_from,
        attendees=everyone,
        stamp=now,
        sequence=conference.sequence,
        method=method,
    )
    emails.send_teleconference_invitations(
        session,
        conference,
        dial_in=dial_in,
        when=describe(conference.start_at, conference.end_at, zone),
        old_when=old_when,
        attachment=ics_attachment(ics, method),
        now=now,
    )


def week_appointments(
    session: Session, salesperson_id: int, start: datetime, end: datetime
) -> list[Appointment]:
    """A salesperson's appointments overlapping [start, end), in order."""
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.salesperson_id == salesperson_id,
                Appointment.status == BookingStatus.BOOKED,
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
    )
