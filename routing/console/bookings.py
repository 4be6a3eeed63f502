"""One appointment or teleconference: what it is, its history, and moving or cancelling it."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Appointment, AuditEntry, BookingStatus, OutboundEmail, Role, Teleconference

from ..clock import request_now
from ..database import get_session
from ..desk.booking import APPOINTMENT_LENGTHS, TELECONFERENCE_LENGTHS, free_slots
from ..desk.change_outcome import change_settings
from ..desk.changes import (
    BookingChanged,
    BookingNotFound,
    cancel_appointment,
    cancel_teleconference,
    move_appointment,
    move_teleconference,
)
from ..desk.errors import InvalidDisposition, SlotTaken
from ..errors import NotFound
from ..security import current_user, login_required
from .forms import slot_days
from .helpers import desk_settings, zone
from .views import bp

MODELS = {"appointment": Appointment, "teleconference": Teleconference}


def _booking(kind: str, booking_id: int):
    booking = get_session().get(MODELS[kind], booking_id)
    if booking is None:
        raise NotFound(f"There is no such {kind}.")
    return booking


def _render(kind: str, booking_id: int, *, errors=None, form=None, status=200):
    session = get_session()
    booking = _booking(kind, booking_id)
    now = request_now()
    minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    values = dict(form or {})
    chosen_minutes = (
        _int(values.get("length_minutes")) or _int(request.args.get("minutes")) or minutes
    )
    days = []
    if kind == "appointment" and booking.status is BookingStatus.BOOKED:
        days = slot_days(
            free_slots(
                session,
                booking.salesperson_id,
                zone=zone(),
                now=now,
                length_minutes=chosen_minutes,
                ignore_appointment_id=booking.id,
            )
        )
    history = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == kind, AuditEntry.entity_id == booking.id)
        .order_by(AuditEntry.id)
    ).all()
    reminder = (
        session.get(OutboundEmail, booking.reminder_email_id) if booking.reminder_email_id else None
    )
    user = current_user()
    return (
        render_template(
            "console/booking.html",
            kind=kind,
            booking=booking,
            minutes=minutes,
            chosen_minutes=chosen_minutes,
            lengths=APPOINTMENT_LENGTHS if kind == "appointment" else TELECONFERENCE_LENGTHS,
            slot_days=days,
            history=history,
            reminder=reminder,
            changeable=booking.status is BookingStatus.BOOKED and booking.end_at > now,
            can_change=user.role in (Role.COORDINATOR, Role.ADMIN),
            local_start=booking.start_at.astimezone(zone()).strftime("%Y-%m-%dT%H:%M"),
            values=values,
            errors=errors or {},
        ),
        status,
    )


def _int(raw) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except (TypeError, ValueError):
        return None


@bp.get("/appointments/<int:booking_id>")
@login_required(Role.COORDINATOR, Role.ACCOUNT_MANAGER, Role.SALESPERSON)
def appointment_detail(booking_id: int):
    """An appointment: when, where, with whom, its reminder and history; move or cancel it."""
    user = current_user()
    if user.role is Role.SALESPERSON:
        booking = _booking("appointment", booking_id)
        if booking.salesperson.user_id != user.id:
            abort(403, description="You can see only your own appointments.")
    return _render("appointment", booking_id)


@bp.get("/teleconferences/<int:booking_id>")
@login_required()
def teleconference_detail(booking_id: int):
    """A teleconference: when, dial-in and PIN, participants, history; move or cancel it."""
    return _render("teleconference", booking_id)


def _parse_start(kind: str) -> datetime | None:
    raw = (request.form.get("start") or "").strip()
    try:
        moment = datetime.fromisoformat(raw) if raw else None
    except ValueError:
        return None
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone())  # datetime-local is the org's local time
    return moment.astimezone(UTC) if moment else None


@bp.post("/<any(appointments, teleconferences):kinds>/<int:booking_id>/move")
@login_required(Role.COORDINATOR)
def move_booking(kinds: str, booking_id: int):
    """Move to a free slot (appointment) or a new time (teleconference)."""
    kind = kinds[:-1]
    session = get_session()
    start = _parse_start(kind)
    if start is None:
        message = "Pick a free slot." if kind == "appointment" else "Enter the new date and time."
        return _render(kind, booking_id, errors={"start": message}, form=request.form, status=422)
    move = move_appointment if kind == "appointment" else move_teleconference
    try:
        move(
            session,
            booking_id,
            start=start,
            length_minutes=_int(request.form.get("length_minutes")),
            actor=current_user(),
            settings=change_settings(desk_settings()),
            now=request_now(),
            seen_sequence=_int(request.form.get("sequence")),
        )
        session.commit()
    except BookingNotFound as exc:
        raise NotFound(exc.message) from None
    except InvalidDisposition as exc:
        session.rollback()
        errors = {"start" if k.startswith("move_") else k: v for k, v in exc.errors.items()}
        return _render(kind, booking_id, errors=errors, form=request.form, status=422)
    except (SlotTaken, BookingChanged) as exc:
        session.rollback()
        return _render(
            kind, booking_id, errors={"start": exc.message}, form=request.form, status=409
        )
    flash(f"The {kind} is moved; both sides get the updated invite.", "success")
    return redirect(url_for(f"console.{kind}_detail", booking_id=booking_id))


@bp.post("/<any(appointments, teleconferences):kinds>/<int:booking_id>/cancel")
@login_required(Role.COORDINATOR)
def cancel_booking(kinds: str, booking_id: int):
    """Cancel it: everyone invited gets a cancellation their calendar applies."""
    kind = kinds[:-1]
    session = get_session()
    cancel = cancel_appointment if kind == "appointment" else cancel_teleconference
    try:
        cancel(
            session,
            booking_id,
            reason=request.form.get("cancel_reason"),
            actor=current_user(),
            settings=change_settings(desk_settings()),
            now=request_now(),
            seen_sequence=_int(request.form.get("sequence")),
        )
        session.commit()
    except BookingNotFound as exc:
        raise NotFound(exc.message) from None
    except InvalidDisposition as exc:
        session.rollback()
        return _render(kind, booking_id, errors=exc.errors, form=request.form, status=422)
    except BookingChanged as exc:
        session.rollback()
        return _render(
            kind, booking_id, errors={"cancel_reason": exc.message}, form=request.form, status=409
        )
    flash(f"The {kind} is cancelled; everyone invited gets the cancellation.", "success")
    return redirect(url_for(f"console.{kind}_detail", booking_id=booking_id))
