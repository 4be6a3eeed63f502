"""Console home."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Role, Salesperson, User
from models.hours import BusinessCalendar

from ..clock import request_now
from ..database import get_session
from ..desk.day import BUCKET_TITLES, BUCKETS, account_manager_day, team_managers
from ..desk.overview import overview
from ..security import current_user, login_required

bp = Blueprint("console", __name__)


def page_arg() -> int:
    """The ?page= of a paged list: 1 when it is missing, not a number or below 1."""
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


def _day_scope(user: User) -> tuple[list[int] | None, list[int] | None, User | None]:
    """Whose day the home page shows: hers, or the team's (one manager with ?manager=).

    Returns (manager ids, task assignee ids, the chosen manager); tasks stay private to
    their assignee except for admins.
    """
    if user.role is Role.ACCOUNT_MANAGER:
        return [user.id], [user.id], None
    raw = request.args.get("manager", "")
    chosen = get_session().get(User, int(raw)) if raw.isdigit() else None
    if chosen is not None and chosen.role is not Role.ACCOUNT_MANAGER:
        chosen = None
    managers = [chosen.id] if chosen else None
    if user.role is Role.ADMIN:
        return managers, managers, chosen
    return managers, [user.id], chosen


@bp.get("/")
@login_required(Role.COORDINATOR, Role.ACCOUNT_MANAGER, Role.SALESPERSON)
def home():
    """The landing page after login: what needs attention now (a salesperson: her week)."""
    session = get_session()
    user = current_user()
    if user.role is Role.SALESPERSON:
        person = session.scalar(select(Salesperson).where(Salesperson.user_id == user.id))
        if person is None:
            abort(403, description="Your login is not linked to a salesperson: ask an admin.")
        return redirect(url_for("console.availability", salesperson_id=person.id))
    now = request_now()
    calendar = BusinessCalendar.load(session, current_app.config.get("TIMEZONE") or "UTC")
    manager_ids, assignee_ids, chosen = _day_scope(user)
    day = account_manager_day(
        session,
        manager_ids=manager_ids,
        task_assignee_ids=assignee_ids,
        calendar=calendar,
        now=now,
    )
    team_view = user.role is not Role.ACCOUNT_MANAGER
    return render_template(
        "console/home.html",
        overview=overview(session, user, now=now),
        day=day,
        buckets=BUCKETS,
        bucket_titles=BUCKET_TITLES,
        chosen_manager=chosen,
        team_view=team_view,
        managers=team_managers(session, day, manager_ids) if team_view else [],
        zone=calendar.timezone,
        now=now,
    )
