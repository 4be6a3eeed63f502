"""Console home."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from models import Role, Salesperson

from ..database import get_session
from ..desk.overview import overview
from ..security import current_user, login_required

bp = Blueprint("console", __name__)


def page_arg() -> int:
    """The ?page= of a paged list: 1 when it is missing, not a number or below 1."""
    try:
        return max(int(request.args.get("page", 1)), 1)
    except ValueError:
        return 1


@bp.get("/")
@login_required(Role.COORDINATOR, Role.ACCOUNT_MANAGER, Role.SALESPERSON)
def home():
    """The landing page after login: what needs attention now (a salesperson: her week)."""
    user = current_user()
    if user.role is Role.SALESPERSON:
        person = get_session().scalar(select(Salesperson).where(Salesperson.user_id == user.id))
        if person is None:
            abort(403, description="Your login is not linked to a salesperson: ask an admin.")
        return redirect(url_for("console.availability", salesperson_id=person.id))
    return render_template("console/home.html", overview=overview(get_session(), user))
