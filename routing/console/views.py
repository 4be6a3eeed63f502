"""Console home."""

from __future__ import annotations

from flask import Blueprint, render_template

from ..security import login_required

bp = Blueprint("console", __name__)


@bp.get("/")
@login_required()
def home():
    """The landing page after login."""
    return render_template("console/home.html")
