"""Console home."""

from __future__ import annotations

from flask import Blueprint, render_template, request

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
@login_required()
def home():
    """The landing page after login: what needs attention now."""
    return render_template("console/home.html", overview=overview(get_session(), current_user()))
