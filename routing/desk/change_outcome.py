"""The disposition's "move or cancel an appointment" outcome: parse it, apply it.

Kept apart from ``disposition`` (which calls these two functions) so the outcome reads in
one place; the moving and cancelling themselves are ``changes``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import Appointment, Teleconference, User
from notifications.reminders import ReminderLinks

from .booking import DEFAULT_LINKS
from .changes import (
    BookingChanged,
    BookingNotFound,
    ChangeSettings,
    cancel_appointment,
    cancel_teleconference,
    move_appointment,
    move_teleconference,
)
from .errors import InvalidDisposition, SlotTaken

CHANGE_ACTIONS = ("move", "cancel")


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name)
    return str(value).strip() if value is not None else ""


def parse_change(
    form: Mapping[str, Any], result: Any, errors: dict[str, str], zone: ZoneInfo
) -> None:
    """Which booking, move or cancel, and the new time (a free slot, or a local time)."""
    kind, _, raw_id = _text(form, "change_booking").partition(":")
    if kind not in ("appointment", "teleconference") or not raw_id.isdigit():
        errors["change_booking"] = "Choose the appointment to move or cancel."
        return
    result.change_booking = (kind, int(raw_id))
    action = _text(form, "change_action")
    if action not in CHANGE_ACTIONS:
        errors["change_action"] = "Choose whether to move or to cancel it."
        return
    result.change_action = action
    if action == "cancel":
        result.cancel_reason = _text(form, "cancel_reason") or None
        return
    field_name = f"move_{kind}_{raw_id}"
    raw = _text(form, field_name)
    try:
        moment = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        moment = None
    if moment is None:
        errors[field_name] = (
            "Pick one of the free slots."
            if kind == "appointment"
            else "Enter the new date and time of the teleconference."
        )
        return
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # datetime-local: the organisation's time
    result.move_start = moment.astimezone(UTC)


def change_settings(settings: Any) -> ChangeSettings:
    """What moving, cancelling and reminding need, from the desk's settings."""

    secret = settings.job_settings.secret_key if settings.job_settings else DEFAULT_LINKS.secret_key
    return ChangeSettings(
        zone=settings.zone,
        mail_from=settings.mail_from,
        links=ReminderLinks(settings.console_url, secret),
    )


def apply_change(
    session: Session,
    ctx: Any,
    disposition: Any,
    result: Any,
    actor: User,
    settings: Any,
    now: datetime,
) -> None:
    kind, booking_id = disposition.change_booking
    field_name = f"move_{kind}_{booking_id}"
    model = Appointment if kind == "appointment" else Teleconference
    booking = session.get(model, booking_id)
    if booking is None or ctx.customer is None or booking.customer_id != ctx.customer.id:
        raise InvalidDisposition({"change_booking": "That is not one of this caller's bookings."})
    change = change_settings(settings)
    try:
        if disposition.change_action == "cancel":
            cancel = cancel_appointment if kind == "appointment" else cancel_teleconference
            cancel(
                session,
                booking_id,
                reason=disposition.cancel_reason or disposition.notes,
                actor=actor,
                settings=change,
                now=now,
            )
        else:
            move = move_appointment if kind == "appointment" else move_teleconference
            move(
                session,
                booking_id,
                start=disposition.move_start,
                actor=actor,
                settings=change,
                now=now,
            )
    except (SlotTaken, BookingChanged, BookingNotFound) as exc:
        raise InvalidDisposition({field_name: exc.message}) from None
    except InvalidDisposition as exc:
        raise InvalidDisposition(
            {field_name if k.startswith("move_") else k: v for k, v in exc.errors.items()}
        ) from None
    action = "cancelled" if disposition.change_action == "cancel" else "moved"
    result.details = {
        f"{kind}_id": booking_id,
        "change": action,
        "start": booking.start_at.isoformat(),
    }
