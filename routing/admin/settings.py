"""Admin: the coordinator team's business hours, holidays and the organisation settings
(name, time zone, SLA, ring timeout, supervisor, dial-in number, reminder time)."""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template, request
from sqlalchemy import select

from models import BusinessHours, Holiday
from notifications.reminders import DEFAULT_REMINDER_TIME, ReminderLinks

from ..clock import request_now
from ..database import get_session
from ..errors import SwitchboardError
from ..setup import admin as setup
from ..setup.changes import InvalidField
from .views import _actor, _checked, _done, _failed, _region, bp


def _timezone() -> str:
    return current_app.config["TIMEZONE"]


# --- business hours and holidays -----------------------------------------------------------


def _hours_context() -> dict[str, Any]:
    session = get_session()
    return {
        "rows": {row.weekday: row for row in session.scalars(select(BusinessHours))},
        "holidays": session.scalars(select(Holiday).order_by(Holiday.day)).all(),
        "timezone": setup.settings_to_show(session, _timezone()).timezone,
    }


@bp.get("/hours")
def hours():
    """Opening hours of the coordinator team per weekday, and holidays."""
    return render_template("admin/hours.html", **_hours_context(), errors={}, form={})


def _wanted_hours() -> dict[int, Any]:
    """The hours form per weekday (0 = Monday): (opens, closes), or None when closed."""
    form = request.form
    wanted: dict[int, Any] = {}
    for weekday in range(7):
        if not _checked(f"open_{weekday}"):
            wanted[weekday] = None
            continue
        opens = setup.parse_time(form.get(f"opens_{weekday}"), f"opens_{weekday}")
        closes = setup.parse_time(form.get(f"closes_{weekday}"), f"closes_{weekday}")
        if opens is None:
            raise InvalidField(f"opens_{weekday}", "an opening time is required")
        if closes is None:
            raise InvalidField(f"closes_{weekday}", "a closing time is required")
        wanted[weekday] = (opens, closes)
    return wanted


@bp.post("/hours")
def save_hours():
    """Save opening hours; a weekday without a tick is closed."""
    try:
        setup.save_business_hours(get_session(), _actor(), _wanted_hours())
    except SwitchboardError as exc:
        return _failed("admin/hours.html", exc, **_hours_context())
    return _done("Business hours saved.", "admin.hours")


@bp.post("/holidays")
def add_holiday():
    """Add a holiday: calls that day go to voicemail."""
    form = request.form
    try:
        holiday = setup.add_holiday(
            get_session(), _actor(), day=form.get("day", ""), name=form.get("holiday_name", "")
        )
    except SwitchboardError as exc:
        if isinstance(exc, InvalidField) and exc.field == "name":
            exc = InvalidField("holiday_name", exc.message)
        return _failed("admin/hours.html", exc, **_hours_context())
    return _done(f"Added {holiday.name} ({holiday.day:%d %b %Y}).", "admin.hours")


@bp.post("/holidays/<int:holiday_id>/delete")
def delete_holiday(holiday_id: int):
    """Remove a holiday."""
    setup.delete_holiday(get_session(), _actor(), holiday_id=holiday_id)
    return _done("Holiday removed.", "admin.hours")


# --- organisation settings -----------------------------------------------------------------


def _settings_page(exc: SwitchboardError | None = None):
    current = setup.settings_to_show(get_session(), _timezone())
    if exc is not None:
        return _failed("admin/settings.html", exc, settings=current)
    return render_template("admin/settings.html", settings=current, errors={}, form={})


@bp.get("/settings")
def settings():
    """The organisation's name, time zone, SLA, ring timeout, supervisor, dial-in number."""
    return _settings_page()


@bp.context_processor
def _reminder_default() -> dict[str, Any]:
    return {"default_reminder_time": DEFAULT_REMINDER_TIME}


@bp.post("/settings/reminders")
def save_reminder_time():
    """When customers get appointment reminders; pending ones move to the new time."""
    from ..console.helpers import public_url

    try:
        at = setup.save_reminder_time(
            get_session(),
            _actor(),
            reminder_time=request.form.get("reminder_time"),
            links=ReminderLinks(public_url(""), current_app.config["SECRET_KEY"]),
            default_timezone=_timezone(),
            now=request_now(),
        )
    except SwitchboardError as exc:
        return _settings_page(exc)
    return _done(f"Reminders go out at {at:%H:%M} the business day before.", "admin.settings")


@bp.post("/settings")
def save_settings():
    """Save the organisation settings."""
    form = request.form
    try:
        setup.save_settings(
            get_session(),
            _actor(),
            name=form.get("name", ""),
            timezone=form.get("timezone", ""),
            enquiry_sla_minutes=form.get("enquiry_sla_minutes", ""),
            ring_timeout_seconds=form.get("ring_timeout_seconds", ""),
            supervisor_email=form.get("supervisor_email"),
            teleconference_number=form.get("teleconference_number"),
            region=_region(),
            now=request_now(),
        )
    except SwitchboardError as exc:
        return _settings_page(exc)
    return _done("Settings saved.", "admin.settings")
