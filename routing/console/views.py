"""Console home."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..database import get_session
from ..desk.overview import overview
from ..security import current_user, login_required

bp = Blueprint("console", __name__)


@bp.get("/")
@login_required()
def home():
    """The landing page after login: what needs attention now."""
    return render_template("console/home.html", overview=overview(get_session(), current_user()))
