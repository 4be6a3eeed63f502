"""Reminders to customers the business day before an appointment or teleconference.

The reminder is an outbox row written when the meeting is booked, due at the
organisation's reminder time (``OrgSettings.reminder_time``, 16:00 by default) on the
last business day before the meeting, local time; the worker sends it then like any
later email. A booking keeps a pointer to its reminder row: a move rewrites that row
while it is still pending (new time, new text, new due time: one reminder, never two),
or writes a new one (idempotency key ``<kind>:<id>:<sequence>``) when the old one
already went out; a cancellation cancels it. Nothing is planned when the reminder time
has already passed (the invite just went out) or the customer has no email.

``run_reminder_upkeep`` (a periodic worker job) cancels pending reminders of meetings
that were cancelled or have started, re-times pending ones after the reminder time,
hours or holidays changed, and frees the PINs of teleconferences that are over.

Each reminder carries a signed link (no login) to ask for a change: see
``change_token`` and ``routing/bookings.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from models import (
    Appointment,
    BookingStatus,
    BusinessCalendar,
    EmailStatus,
    OutboundEmail,
    Teleconference,
)
from models.contact import format_phone
from models.organisation import current_settings

from . import emails

DEFAULT_REMINDER_TIME = time(16, 0)
REMINDER_KINDS = ("appointment-reminder", "teleconference-reminder")
_CHANGE_SALT = "booking-change-request"

Booking = Appointment | Teleconference


@dataclass(frozen=True)
class ReminderLinks:
    """Where the change link points and what signs it."""

    base_url: str
    secret_key: str

    def change_url(self, booking: Booking) -> str:
        token = change_token(self.secret_key, booking)
        return f"{self.base_url.rstrip('/')}/bookings/change/{token}"


def booking_kind(booking: Booking) -> str:
    return "appointment" if isinstance(booking, Appointment) else "teleconference"


def change_token(secret_key: str, booking: Booking) -> str:
    return URLSafeSerializer(secret_key, salt=_CHANGE_SALT).dumps(
        [booking_kind(booking), booking.id]
    )


def booking_from_change_token(
    session: Session, secret_key: str, token: str
) -> Appointment | Teleconference | None:
    """The booking a change link names, or None when the link was tampered with."""
    try:
        kind, booking_id = URLSafeSerializer(secret_key, salt=_CHANGE_SALT).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    model = {"appointment": Appointment, "teleconference": Teleconference}.get(kind)
    if model is None or not isinstance(booking_id, int):
        return None
    return session.get(model, booking_id)


def reminder_time(session: Session) -> time:
    settings = current_settings(session)
    return (settings.reminder_time if settings else None) or DEFAULT_REMINDER_TIME


def reminder_due_at(calendar: BusinessCalendar, start: datetime, at: time) -> datetime:
    """``at`` (local) on the last business day before the local day of ``start``."""
    day = calendar.previous_business_day(calendar.local(start).date())
    return datetime.combine(day, at, tzinfo=calendar.timezone).astimezone(UTC)


def describe_when(booking: Booking, calendar: BusinessCalendar) -> str:
    start = calendar.local(booking.start_at)
    end = calendar.local(booking.end_at)
    return f"{start:%A %d %B %Y, %H:%M}–{end:%H:%M} ({calendar.timezone.key})"


def _recipient(booking: Booking) -> tuple[str, str] | None:
    customer = booking.customer
    if customer is None or not customer.email or customer.email_undeliverable:
        return None
    return customer.name, customer.email


def _reminder(
    booking: Booking,
    calendar: BusinessCalendar,
    links: ReminderLinks,
    recipient: tuple[str, str],
    due: datetime,
) -> emails.Email:
    return emails.send_booking_reminder.build(
        booking,
        to=recipient,
        when=describe_when(booking, calendar),
        change_url=links.change_url(booking),
        dial_in=format_phone(booking.dial_in_number) if isinstance(booking, Teleconference) else "",
        send_at=due,
        stored={"booking": booking_kind(booking), "id": booking.id, "start": _iso(booking)},
    )


def _cancel_if_pending(session: Session, email_id: int | None) -> None:
    if email_id is None:
        return
    session.execute(
        update(OutboundEmail)
        .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.PENDING)
        .values(status=EmailStatus.CANCELLED)
        .execution_options(synchronize_session=False)
    )


def plan_reminder(
    session: Session,
    booking: Booking,
    *,
    now: datetime,
    links: ReminderLinks,
    calendar: BusinessCalendar | None = None,
    default_timezone: str = "UTC",
) -> OutboundEmail | None:
    """Make the booking's pending reminder match it (see the module docstring)."""
    calendar = calendar or BusinessCalendar.load(session, default_timezone)
    recipient = _recipient(booking)
    due = reminder_due_at(calendar, booking.start_at, reminder_time(session))
    if booking.status is not BookingStatus.BOOKED or recipient is None or due <= now:
        _cancel_if_pending(session, booking.reminder_email_id)
        return None
    reminder = _reminder(booking, calendar, links, recipient, due)
    values = {
        "to_email": reminder.to_email,
        "to_name": reminder.to_name,
        **reminder.rendered_values(),
        "next_attempt_at": due,
        "scheduled_for": None,
        "context": dict(reminder.stored or {}),
    }
    if booking.reminder_email_id is not None:
        replaced = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.id == booking.reminder_email_id,
                OutboundEmail.status == EmailStatus.PENDING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if replaced.rowcount == 1:
            return session.get(OutboundEmail, booking.reminder_email_id)
    [email] = emails.queue(session, reminder, now=now)
    booking.reminder_email_id = email.id
    return email


def cancel_reminder(session: Session, booking: Booking) -> None:
    _cancel_if_pending(session, booking.reminder_email_id)


def _iso(booking: Booking) -> str:
    return booking.start_at.astimezone(UTC).isoformat()


def reminder_upkeep(
    session: Session, *, now: datetime, links: ReminderLinks, default_timezone: str = "UTC"
) -> dict[str, int]:
    """Keep pending reminders true to their bookings and settings; free ended PINs."""
    calendar = BusinessCalendar.load(session, default_timezone)
    at = reminder_time(session)
    counts = {"cancelled": 0, "retimed": 0, "pins_freed": 0}
    for model in (Appointment, Teleconference):
        rows = session.execute(
            select(model, OutboundEmail)
            .join(OutboundEmail, OutboundEmail.id == model.reminder_email_id)
            .where(OutboundEmail.status == EmailStatus.PENDING)
        ).all()
        for booking, email in rows:
            if booking.status is not BookingStatus.BOOKED or booking.start_at <= now:
                _cancel_if_pending(session, email.id)
                counts["cancelled"] += 1
                continue
            due = reminder_due_at(calendar, booking.start_at, at)
            if due == email.next_attempt_at:
                continue
            if due > now:
                plan_reminder(session, booking, now=now, links=links, calendar=calendar)
            else:
                # Its new time has just passed (say the reminder time moved earlier):
                # the customer should still hear before the meeting, so it goes now.
                session.execute(
                    update(OutboundEmail)
                    .where(
                        OutboundEmail.id == email.id, OutboundEmail.status == EmailStatus.PENDING
                    )
                    .values(next_attempt_at=now, scheduled_for=None)
                    .execution_options(synchronize_session=False)
                )
            counts["retimed"] += 1
    counts["pins_freed"] = release_ended_pins(session, now)
    return counts


def release_ended_pins(session: Session, now: datetime) -> int:
    """A teleconference that is over gives its PIN back (``active_pin`` NULL)."""
    ended = session.scalars(
        select(Teleconference.id).where(
            Teleconference.active_pin.is_not(None), Teleconference.end_at <= now
        )
    ).all()
    if not ended:
        # An UPDATE of teleconferences renews the directory token (call routing reloads
        # its cache): only issue one when there is something to free.
        return 0
    session.execute(
        update(Teleconference)
        .where(Teleconference.id.in_(ended))
        .values(active_pin=None)
        .execution_options(synchronize_session=False)
    )
    return len(ended)


def run_reminder_upkeep(runtime: Any) -> dict[str, int]:
    """Periodic worker job (``notifications.worker.PERIODIC_JOBS``)."""
    config = runtime.config
    links = ReminderLinks(
        base_url=getattr(config, "PUBLIC_BASE_URL", None) or "http://127.0.0.1:5000",
        secret_key=config.SECRET_KEY,
    )
    with runtime.db.Session() as session:
        counts = reminder_upkeep(
            session,
            now=runtime.clock(),
            links=links,
            default_timezone=getattr(config, "TIMEZONE", None) or "UTC",
        )
        session.commit()
    return counts
