"""A salesperson's availability: working hours, time off, standard appointment length.

Admins edit anyone's; a salesperson with a login edits her own (and sees nothing else);
coordinators and account managers see it read-only.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from models import BusinessHours, Role, Salesperson

from ..clock import request_now
from ..database import get_session
from ..desk.availability import (
    APPOINTMENT_LENGTHS,
    WEEKDAYS,
    NotYourCalendar,
    add_time_off,
    can_edit,
    delete_time_off,
    parse_hours_form,
    parse_time_off,
    save_hours,
)
from ..desk.errors import InvalidDisposition
from ..security import current_user, login_required
from .helpers import zone
from .views import bp

VIEWERS = (Role.COORDINATOR, Role.ACCOUNT_MANAGER, Role.SALESPERSON)


def visible_salesperson(salesperson_id: int) -> Salesperson:
    """The salesperson, if the viewer may see her: a salesperson sees only herself."""
    person = get_session().get(Salesperson, salesperson_id)
    if person is None:
        abort(404, description="There is no such salesperson.")
    user = current_user()
    if user.role is Role.SALESPERSON and person.user_id != user.id:
        abort(403, description="You can see only your own calendar.")
    return person


def _render(person: Salesperson, *, errors=None, form=None, clashes=None, status=200):
    session = get_session()
    team = {row.weekday: row for row in session.scalars(select(BusinessHours))}
    own = {row.weekday: row for row in person.hours}
    today = request_now().astimezone(zone()).date()
    return (
        render_template(
            "console/availability.html",
            person=person,
            team=team,
            own=own,
            weekdays=WEEKDAYS,
            lengths=APPOINTMENT_LENGTHS,
            time_off=[t for t in person.time_off if t.last_day >= today],
            editable=can_edit(current_user(), person),
            clashes=clashes or [],
            errors=errors or {},
            values=form or {},
        ),
        status,
    )


@bp.get("/salespeople/<int:salesperson_id>/availability")
@login_required(*VIEWERS)
def availability(salesperson_id: int):
    """Her working hours (or the team's), time off and standard appointment length."""
    return _render(visible_salesperson(salesperson_id))


def _editable(salesperson_id: int) -> Salesperson:
    person = visible_salesperson(salesperson_id)
    if not can_edit(current_user(), person):
        abort(403, description=f"Only an admin or {person.name} can change her availability.")
    return person


@bp.post("/salespeople/<int:salesperson_id>/availability")
@login_required(Role.SALESPERSON)
def save_availability(salesperson_id: int):
    """Save her hours and standard appointment length (audited)."""
    person = _editable(salesperson_id)
    session = get_session()
    try:
        own, hours, minutes = parse_hours_form(request.form)
        save_hours(
            session,
            person,
            own_hours=own,
            hours=hours,
            appointment_minutes=minutes,
            actor=current_user(),
        )
        session.commit()
    except InvalidDisposition as exc:
        session.rollback()
        return _render(person, errors=exc.errors, form=request.form, status=422)
    except NotYourCalendar as exc:
        abort(403, description=str(exc))
    flash("Availability saved: free slots follow it from now on.", "success")
    return redirect(url_for("console.availability", salesperson_id=person.id))


@bp.post("/salespeople/<int:salesperson_id>/time-off")
@login_required(Role.SALESPERSON)
def add_time_off_view(salesperson_id: int):
    """Add days off; appointments already booked on them are listed to be moved."""
    person = _editable(salesperson_id)
    session = get_session()
    try:
        first, last, note = parse_time_off(request.form)
        _entry, clashes = add_time_off(
            session,
            person,
            first_day=first,
            last_day=last,
            note=note,
            actor=current_user(),
            zone=zone(),
        )
        session.commit()
    except InvalidDisposition as exc:
        session.rollback()
        return _render(person, errors=exc.errors, form=request.form, status=422)
    if clashes:
        flash(
            f"Time off added. {len(clashes)} appointment(s) booked in it need moving: "
            "see the list below.",
            "error",
        )
        return _render(person, clashes=clashes)
    flash("Time off added: no slots are offered on those days.", "success")
    return redirect(url_for("console.availability", salesperson_id=person.id))


@bp.post("/salespeople/<int:salesperson_id>/time-off/<int:time_off_id>/delete")
@login_required(Role.SALESPERSON)
def delete_time_off_view(salesperson_id: int, time_off_id: int):
    """Remove days off (e.g. a trip was cancelled)."""
    person = _editable(salesperson_id)
    delete_time_off(get_session(), person, time_off_id, current_user())
    get_session().commit()
    flash("Time off removed.", "success")
    return redirect(url_for("console.availability", salesperson_id=person.id))
