"""Moving and cancelling appointments and teleconferences.

A move keeps the same appointment (same id, same calendar UID) and raises its SEQUENCE;
calendar programs apply the updated invite to the event they already have, and
METHOD:CANCEL removes it. Each change is claimed with a conditional UPDATE on the
sequence the coordinator saw, so two people changing the same appointment at once
cannot both win; the new slots are claimed under the same unique constraint as a
booking, so two appointments moved into one slot at once cannot both get it.
Every change is audited, mails both sides and replaces the customer's pending reminder.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    Appointment,
    AppointmentSlot,
    BookingStatus,
    BusinessCalendar,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    Teleconference,
    User,
    audit,
)
from models.organisation import current_settings
from notifications.reminders import ReminderLinks, cancel_reminder, plan_reminder

from .availability import APPOINTMENT_LENGTHS
from .booking import (
    DEFAULT_LINKS,
    TELECONFERENCE_LENGTHS,
    claim_slots,
    describe,
    is_offered,
    queue_appointment_emails,
    queue_teleconference_emails,
)
from .errors import Conflict, InvalidDisposition, NotFound, SlotTaken

MAX_REASON = 1000


class BookingNotFound(NotFound):
    pass


class BookingChanged(Conflict):
    """Cancelled, over, or changed by someone else since the page was shown."""


@dataclass(frozen=True)
class ChangeSettings:
    zone: ZoneInfo
    mail_from: str
    links: ReminderLinks = DEFAULT_LINKS


def _appointment(session: Session, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise BookingNotFound("There is no such appointment.")
    return appointment


def _conference(session: Session, conference_id: int) -> Teleconference:
    conference = session.get(Teleconference, conference_id)
    if conference is None:
        raise BookingNotFound("There is no such teleconference.")
    return conference


def _check_changeable(
    booking: Appointment | Teleconference, what: str, now: datetime, seen: int | None
) -> None:
    if booking.status is BookingStatus.CANCELLED:
        raise BookingChanged(f"This {what} is already cancelled.")
    if booking.end_at <= now:
        raise BookingChanged(f"This {what} has already taken place.")
    if seen is not None and seen != booking.sequence:
        raise BookingChanged(
            f"Someone changed this {what} since you opened the page: check it and try again."
        )


def _claim(
    session: Session, model: type, booking: Appointment | Teleconference, what: str, **values
) -> None:
    """Raise the sequence if nobody else did first (a concurrent change waits, then loses)."""
    claimed = session.execute(
        update(model)
        .where(
            model.id == booking.id,
            model.sequence == booking.sequence,
            model.status == BookingStatus.BOOKED,
        )
        .values(sequence=booking.sequence + 1, **values)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise BookingChanged(f"Someone has just changed this {what}: check it and try again.")
    session.refresh(booking)


def _reason(raw: str | None) -> str | None:
    reason = " ".join((raw or "").split()) or None
    if reason and len(reason) > MAX_REASON:
        raise InvalidDisposition({"cancel_reason": f"Keep it under {MAX_REASON} characters."})
    return reason


def _audit(session, actor: User, entity: str, entity_id: int, action: str, details: dict) -> None:
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type=entity,
        entity_id=entity_id,
        action=action,
        details=details,
    )


# --- appointments ------------------------------------------------------------------------


def move_appointment(
    session: Session,
    appointment_id: int,
    *,
    start: datetime,
    length_minutes: int | None = None,
    actor: User,
    settings: ChangeSettings,
    now: datetime,
    seen_sequence: int | None = None,
) -> Appointment:
    """Move to a free slot of the same salesperson; the caller commits.

    Raises ``SlotTaken`` (not free, or taken a moment ago), ``BookingChanged``,
    ``BookingNotFound`` or ``InvalidDisposition``.
    """
    if start.tzinfo is None:
        raise ValueError("appointment start must be timezone-aware")
    appointment = _appointment(session, appointment_id)
    _check_changeable(appointment, "appointment", now, seen_sequence)
    old_start, old_end = appointment.start_at, appointment.end_at
    minutes = length_minutes or int((old_end - old_start).total_seconds() // 60)
    if length_minutes is not None and length_minutes not in APPOINTMENT_LENGTHS:
        raise InvalidDisposition({"length_minutes": "Choose one of the offered lengths."})
    start = start.astimezone(UTC)
    if start == old_start and start + timedelta(minutes=minutes) == old_end:
        raise InvalidDisposition({"move_slot_start": "That is the time it already has."})
    if not is_offered(
        session,
        appointment.salesperson_id,
        start,
        minutes,
        zone=settings.zone,
        now=now,
        ignore_appointment_id=appointment.id,
    ):
        raise SlotTaken(
            f"That slot is not free for {appointment.salesperson.name}: pick another one."
        )
    _move_slots(session, appointment, start, minutes, now)
    _audit(
        session,
        actor,
        "appointment",
        appointment.id,
        "moved",
        {
            "from": old_start.isoformat(),
            "to": start.isoformat(),
            "minutes": minutes,
            "sequence": appointment.sequence,
        },
    )
    queue_appointment_emails(
        session,
        appointment,
        zone=settings.zone,
        mail_from=settings.mail_from,
        now=now,
        old_when=describe(old_start, old_end, settings.zone),
    )
    plan_reminder(session, appointment, now=now, links=settings.links)
    session.flush()
    return appointment


def _move_slots(
    session: Session, appointment: Appointment, start: datetime, minutes: int, now: datetime
) -> None:
    """Claim the appointment's new slots in one savepoint; a slot taken meanwhile refuses."""
    try:
        with session.begin_nested():
            _claim(
                session,
                Appointment,
                appointment,
                "appointment",
                start_at=start,
                end_at=start + timedelta(minutes=minutes),
                updated_at=now,
            )
            session.execute(
                delete(AppointmentSlot).where(AppointmentSlot.appointment_id == appointment.id)
            )
            claim_slots(session, appointment)
    except IntegrityError:
        session.expire(appointment)
        raise SlotTaken(
            f"Another coordinator has just booked that slot with "
            f"{appointment.salesperson.name}. Please pick another one."
        ) from None


def cancel_appointment(
    session: Session,
    appointment_id: int,
    *,
    reason: str | None,
    actor: User,
    settings: ChangeSettings,
    now: datetime,
    seen_sequence: int | None = None,
) -> Appointment:
    """Cancel: free its slots, send METHOD:CANCEL to both sides, drop the reminder."""
    appointment = _appointment(session, appointment_id)
    _check_changeable(appointment, "appointment", now, seen_sequence)
    reason = _reason(reason)
    _claim(
        session,
        Appointment,
        appointment,
        "appointment",
        status=BookingStatus.CANCELLED,
        cancelled_at=now,
        cancelled_by_id=actor.id,
        cancel_reason=reason,
        updated_at=now,
    )
    session.execute(delete(AppointmentSlot).where(AppointmentSlot.appointment_id == appointment.id))
    _audit(
        session,
        actor,
        "appointment",
        appointment.id,
        "cancelled",
        {
            "start": appointment.start_at.isoformat(),
            "reason": reason,
            "sequence": appointment.sequence,
        },
    )
    queue_appointment_emails(
        session, appointment, zone=settings.zone, mail_from=settings.mail_from, now=now
    )
    cancel_reminder(session, appointment)
    session.flush()
    return appointment


# --- teleconferences ---------------------------------------------------------------------


def move_teleconference(
    session: Session,
    conference_id: int,
    *,
    start: datetime,
    length_minutes: int | None = None,
    actor: User,
    settings: ChangeSettings,
    now: datetime,
    seen_sequence: int | None = None,
) -> Teleconference:
    """Move a teleconference (same PIN, same room); everyone gets the updated invite."""
    if start.tzinfo is None:
        raise ValueError("teleconference start must be timezone-aware")
    conference = _conference(session, conference_id)
    _check_changeable(conference, "teleconference", now, seen_sequence)
    old_start, old_end = conference.start_at, conference.end_at
    minutes = length_minutes or int((old_end - old_start).total_seconds() // 60)
    errors = {}
    if length_minutes is not None and length_minutes not in TELECONFERENCE_LENGTHS:
        errors["conference_minutes"] = "Choose one of the offered lengths."
    start = start.astimezone(UTC)
    if start <= now:
        errors["move_conference_start"] = "The new time must be in the future."
    elif start == old_start and minutes == int((old_end - old_start).total_seconds() // 60):
        errors["move_conference_start"] = "That is the time it already has."
    if errors:
        raise InvalidDisposition(errors)
    _claim(
        session,
        Teleconference,
        conference,
        "teleconference",
        start_at=start,
        end_at=start + timedelta(minutes=minutes),
        updated_at=now,
    )
    _audit(
        session,
        actor,
        "teleconference",
        conference.id,
        "moved",
        {"from": old_start.isoformat(), "to": start.isoformat(), "sequence": conference.sequence},
    )
    queue_teleconference_emails(
        session,
        conference,
        zone=settings.zone,
        mail_from=settings.mail_from,
        now=now,
        old_when=describe(old_start, old_end, settings.zone),
    )
    plan_reminder(session, conference, now=now, links=settings.links)
    session.flush()
    return conference


def cancel_teleconference(
    session: Session,
    conference_id: int,
    *,
    reason: str | None,
    actor: User,
    settings: ChangeSettings,
    now: datetime,
    seen_sequence: int | None = None,
) -> Teleconference:
    """Cancel: its PIN stops working and is free again; everyone gets METHOD:CANCEL."""
    conference = _conference(session, conference_id)
    _check_changeable(conference, "teleconference", now, seen_sequence)
    reason = _reason(reason)
    _claim(
        session,
        Teleconference,
        conference,
        "teleconference",
        status=BookingStatus.CANCELLED,
        active_pin=None,
        cancelled_at=now,
        cancelled_by_id=actor.id,
        cancel_reason=reason,
        updated_at=now,
    )
    _audit(
        session,
        actor,
        "teleconference",
        conference.id,
        "cancelled",
        {"start": conference.start_at.isoformat(), "reason": reason},
    )
    queue_teleconference_emails(
        session, conference, zone=settings.zone, mail_from=settings.mail_from, now=now
    )
    cancel_reminder(session, conference)
    session.flush()
    return conference


# --- what a customer has coming up ---------------------------------------------------------


def upcoming_bookings(
    session: Session, customer_id: int, now: datetime
) -> list[Appointment | Teleconference]:
    """The customer's booked appointments and teleconferences not over yet, soonest first."""
    appointments = session.scalars(
        select(Appointment).where(
            Appointment.customer_id == customer_id,
            Appointment.status == BookingStatus.BOOKED,
            Appointment.end_at > now,
        )
    ).all()
    conferences = session.scalars(
        select(Teleconference).where(
            Teleconference.customer_id == customer_id,
            Teleconference.status == BookingStatus.BOOKED,
            Teleconference.end_at > now,
        )
    ).all()
    return sorted([*appointments, *conferences], key=lambda booking: booking.start_at)


# --- a customer's request from the reminder's link --------------------------------------------

MAX_REQUEST = 2000


def request_change(
    session: Session,
    booking: Appointment | Teleconference,
    *,
    message: str,
    zone: ZoneInfo,
    now: datetime,
) -> Enquiry:
    """Open an enquiry for the coordinators (SLA as for a missed call); a second request
    while the first is open is added to it rather than opening another."""
    text = (message or "").strip()
    if not text:
        raise InvalidDisposition({"message": "Tell us what would suit you better."})
    if len(text) > MAX_REQUEST or "\x00" in text:
        raise InvalidDisposition({"message": f"Please keep it under {MAX_REQUEST} characters."})
    if booking.status is not BookingStatus.BOOKED or booking.end_at <= now:
        raise BookingChanged("This appointment can no longer be changed.")
    customer = booking.customer
    what = "appointment" if isinstance(booking, Appointment) else "teleconference"
    when = describe(booking.start_at, booking.end_at, zone)
    note = f"Asks to change the {what} on {when}: {text}"
    existing = session.scalar(
        select(Enquiry).where(
            Enquiry.kind == EnquiryKind.CHANGE_REQUEST,
            Enquiry.customer_id == (customer.id if customer else None),
            Enquiry.status != EnquiryStatus.RESOLVED,
        )
    )
    if existing is not None:
        existing.notes = "\n".join(filter(None, [existing.notes, note]))
        enquiry = existing
    else:
        settings = current_settings(session)
        calendar = BusinessCalendar.load(session, default_timezone=zone.key)
        salesperson = booking.salesperson
        line = (
            next((line for line in salesperson.lines if line.active), None) if salesperson else None
        )
        enquiry = Enquiry(
            customer_id=customer.id if customer else None,
            line_id=line.id if line else None,
            caller_number=customer.phone if customer else None,
            kind=EnquiryKind.CHANGE_REQUEST,
            sla_deadline=calendar.add_business_minutes(
                now, settings.enquiry_sla_minutes if settings else 15
            ),
            notes=note,
            created_at=now,
        )
        session.add(enquiry)
    session.flush()
    audit.record(
        session,
        actor=f"customer:{customer.email if customer else 'unknown'}",
        entity_type=what,
        entity_id=booking.id,
        action="change_requested",
        details={"enquiry_id": enquiry.id},
    )
    return enquiry
