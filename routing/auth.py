"""Console login and logout."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from . import login_throttle
from .clock import request_now
from .database import get_session
from .security import authenticate, current_user, local_path, login_user, logout_user

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative targets; anything else goes to the console home."""
    return local_path(target) or url_for("console.home")


def _refused(lockout: login_throttle.Lockout, email: str, at):
    """The page that says to wait; the same whether or not anyone has this email."""
    minutes = lockout.minutes_left(at)
    wait = f"Wait {minutes} minute{'s' if minutes != 1 else ''} and try again."
    if lockout.scope == "email":
        error = f"Too many failed logins for this email. {wait}"
    else:
        error = f"Too many failed logins from your network. {wait}"
    response = render_template("login.html", error=error, email=email)
    return response, 429, {"Retry-After": str(lockout.seconds_left(at))}


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on POST, check the credentials and start a session.

    Failed attempts are throttled per email and per client address (login_throttle).
    """
    if request.method == "GET" and current_user() is not None:
        return redirect(_safe_next(request.args.get("next")))
    error = None
    email = ""
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        if not (email and password):
            error = "Wrong email or password."
        else:
            at = request_now()
            session = get_session()
            address = request.remote_addr
            lockout = login_throttle.lockout(session, email=email, address=address, now=at)
            if lockout is not None:
                return _refused(lockout, email, at)
            user = authenticate(email, password)
            if user is None:
                login_throttle.record_failure(session, email=email, address=address, now=at)
                session.commit()
                error = "Wrong email or password."
            else:
                login_throttle.forget_failures(session, email=email)
                user.last_login_at = at
                session.commit()
                login_user(user)
                return redirect(_safe_next(request.args.get("next")))
    status = 401 if error else 200
    return render_template("login.html", error=error, email=email), status


@bp.post("/logout")
def logout():
    """End the session, and every other session of the same user."""
    logout_user()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
