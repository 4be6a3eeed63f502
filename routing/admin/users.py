"""Admin: users who log in — coordinators (and whether they ring), account managers (and
their load), admins and salespeople's logins."""

from __future__ import annotations

from flask import abort, render_template, request
from sqlalchemy import select

from models import Role, User
from notifications.jobs import open_job_counts

from ..clock import request_now
from ..database import get_session
from ..errors import SwitchboardError
from ..security import login_user
from ..setup import users as staff
from .views import (
    ROLE_LABELS,
    _actor,
    _checked,
    _done,
    _failed,
    _job_settings,
    _region,
    _with_assigned_jobs,
    bp,
)


def _users() -> dict[Role, list[User]]:
    users = get_session().scalars(select(User).order_by(User.active.desc(), User.name))
    grouped: dict[Role, list[User]] = {role: [] for role in ROLE_LABELS}
    for user in users:
        grouped[user.role].append(user)
    return grouped


@bp.get("/users")
def users():
    """Coordinators (and whether they ring), account managers (and their load), admins."""
    return render_template(
        "admin/users.html",
        groups=_users(),
        open_jobs=open_job_counts(get_session()),
        errors={},
        form={},
    )


@bp.post("/users")
def add_user():
    """Create a user; without a password they cannot log in until one is set."""
    form = request.form
    try:
        saved = staff.add_user(
            get_session(),
            _actor(),
            email=form.get("email", ""),
            role=form.get("role", ""),
            name=form.get("name"),
            phone=form.get("phone"),
            capacity=form.get("capacity"),
            password=form.get("password"),
            password_again=form.get("password_again"),
            region=_region(),
            job_settings=_job_settings(),
            now=request_now(),
        )
    except SwitchboardError as exc:
        return _failed(
            "admin/users.html", exc, groups=_users(), open_jobs=open_job_counts(get_session())
        )
    user = saved.user
    message = _with_assigned_jobs(f"Created {user.name} ({ROLE_LABELS[user.role]}).", saved)
    return _done(message, "admin.user", user_id=user.id)


def _user(user_id: int) -> User:
    user = get_session().get(User, user_id)
    if user is None:
        abort(404, description="No such user.")
    return user


@bp.get("/users/<int:user_id>")
def user(user_id: int):
    """One user: details, role, availability, capacity, password reset, deactivation."""
    return render_template("admin/user.html", user=_user(user_id), errors={}, form={})


@bp.post("/users/<int:user_id>")
def edit_user(user_id: int):
    """Save a user's details (login email included), role, availability and capacity."""
    form = request.form
    _user(user_id)
    try:
        saved = staff.edit_user(
            get_session(),
            _actor(),
            user_id=user_id,
            name=form.get("name", ""),
            email=form.get("email"),
            phone=form.get("phone"),
            role=form.get("role", ""),
            capacity=form.get("capacity"),
            available=_checked("available"),
            active=_checked("active"),
            region=_region(),
            job_settings=_job_settings(),
            now=request_now(),
        )
    except SwitchboardError as exc:
        return _failed("admin/user.html", exc, user=_user(user_id))
    message = _with_assigned_jobs(f"Saved {saved.user.name}.", saved)
    return _done(message, "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    """Set a new login password for a user."""
    target = _user(user_id)
    form = request.form
    try:
        staff.reset_password(
            get_session(),
            _actor(),
            user_id=user_id,
            password=form.get("password", ""),
            password_again=form.get("password_again", ""),
        )
    except SwitchboardError as exc:
        return _failed("admin/user.html", exc, user=_user(user_id))
    if target.id == _actor().user_id:
        login_user(target)  # her other sessions end; the one she is using goes on
    return _done(f"New password set for {target.name}.", "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/active")
def set_active(user_id: int):
    """Deactivate a user (no login, not rung) or reactivate them."""
    active = _checked("active")
    try:
        saved = staff.change_user_active(
            get_session(),
            _actor(),
            user_id=user_id,
            active=active,
            job_settings=_job_settings(),
            now=request_now(),
        )
    except SwitchboardError as exc:
        return _failed("admin/user.html", exc, user=_user(user_id))
    state = "reactivated" if active else "deactivated"
    return _done(
        _with_assigned_jobs(f"{saved.user.name} is {state}.", saved), "admin.user", user_id=user_id
    )


@bp.post("/users/<int:user_id>/availability")
def set_availability(user_id: int):
    """Switch a coordinator's phone on or off for incoming calls."""
    saved = staff.set_availability(
        get_session(), _actor(), user_id=user_id, available=_checked("available")
    )
    state = "rings for calls" if saved.available else "does not ring"
    return _done(f"{saved.name} {state}.", "admin.users")
