"""Admin: daily delivery capacity (the console twin of ``switchboard capacity``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, render_template, request

from notifications import capacity
from notifications.jobs import JobSettings

from ..clock import request_now
from ..database import get_session
from ..setup.changes import InvalidField
from .views import _actor, _done, _failed, bp

CALENDAR_DAYS = 28


def _context() -> dict[str, Any]:
    session = get_session()
    tz = JobSettings.from_config(current_app.config["SWITCHBOARD_CONFIG"]).zone(session)
    start = capacity.window_start(request_now(), tz)
    rules = capacity.CapacityRules.load(session, tz)
    return {
        "per_day": rules.per_day,
        "days": [d for d in capacity.upcoming_days(session) if d.day >= start - timedelta(days=7)],
        "loads": capacity.day_loads(session, start, CALENDAR_DAYS, tz, rules=rules),
        "has_hours": bool(rules.calendar and rules.calendar.hours),
        "timezone": tz.key,
    }


def _invalid(exc: capacity.InvalidCapacity) -> InvalidField:
    return InvalidField(exc.field, exc.message)


@bp.get("/capacity")
def delivery_capacity():
    """Jobs per business day, days with a capacity of their own, the coming four weeks."""
    return render_template("admin/capacity.html", **_context(), errors={}, form={})


@bp.post("/capacity")
def save_per_day():
    """Set the per-day capacity; empty means no limit."""
    raw = request.form.get("per_day", "").strip()
    actor = _actor()
    try:
        value = capacity.clean_jobs(raw, "per_day") if raw else None
    except capacity.InvalidCapacity as exc:
        return _failed("admin/capacity.html", _invalid(exc), **_context())
    capacity.set_per_day(get_session(), value, actor=actor.label, actor_user_id=actor.user_id)
    message = "No daily limit." if value is None else f"Capacity: {value} jobs per business day."
    return _done(message, "admin.delivery_capacity")


@bp.post("/capacity/days")
def save_day():
    """Give one day a capacity of its own (0 = no deliveries that day)."""
    actor = _actor()
    try:
        day = capacity.clean_day(request.form.get("day", ""), "day")
        jobs = capacity.clean_jobs(request.form.get("jobs", ""), "jobs")
    except capacity.InvalidCapacity as exc:
        return _failed("admin/capacity.html", _invalid(exc), **_context())
    capacity.set_day(get_session(), day, jobs, actor=actor.label, actor_user_id=actor.user_id)
    what = "no deliveries" if jobs == 0 else f"{jobs} jobs"
    return _done(f"{day:%a %d %b %Y}: {what}.", "admin.delivery_capacity")


@bp.post("/capacity/days/<day>/delete")
def delete_day(day: str):
    """Give a day back to the per-day rule."""
    actor = _actor()
    try:
        parsed = capacity.clean_day(day, "day")
    except capacity.InvalidCapacity as exc:
        return _failed("admin/capacity.html", _invalid(exc), **_context())
    capacity.set_day(get_session(), parsed, None, actor=actor.label, actor_user_id=actor.user_id)
    return _done(f"{parsed:%a %d %b %Y} follows the per-day rule again.", "admin.delivery_capacity")


@bp.post("/capacity/clear")
def clear():
    """Remove every limit."""
    actor = _actor()
    capacity.clear_capacity(get_session(), actor=actor.label, actor_user_id=actor.user_id)
    return _done("Every capacity limit removed.", "admin.delivery_capacity")
