"""Console login and logout."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for

from models import utcnow

from .database import get_session
from .security import authenticate, current_user, login_user, logout_user

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative targets; anything else goes to the console home."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on POST, check the credentials and start a session."""
    if request.method == "GET" and current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        user = authenticate(email, password) if email and password else None
        if user is None:
            error = "Wrong email or password."
        else:
            user.last_login_at = utcnow()
            get_session().commit()
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error, email=email), status


@bp.post("/logout")
def logout():
    """End the session."""
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
