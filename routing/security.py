"""Logins, roles and CSRF for the console; webhooks and the API authenticate otherwise."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from models import Role, User

from .database import get_session

csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])

# A hash to compare against when the email is unknown, so both failures take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.before_request(_load_user)

    @app.context_processor
    def _inject_user() -> dict[str, Any]:
        return {"current_user": g.get("user"), "Role": Role}


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None (no hint which was wrong)."""
    user = get_session().scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.password_hash or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def login_user(user: User) -> None:
    session.clear()
    session["user_id"] = user.id
    session.permanent = True
    g.user = user


def logout_user() -> None:
    session.clear()
    g.user = None


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is None or request.path.startswith(("/twilio/", "/static/", "/healthz")):
        return
    user = get_session().get(User, user_id)
    if user is not None and user.active:
        g.user = user


def current_user() -> User | None:
    return g.get("user")


def login_required(*roles: Role) -> Callable[[F], F]:
    """Require a logged-in user; with roles, one of them (admins may do everything).

    Without roles, any staff role (coordinator, account manager, admin): a salesperson's
    login opens only the pages that name ``Role.SALESPERSON`` (her calendar and
    availability), so adding that role widened no existing page.
    """

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if roles and user.role not in roles and user.role != Role.ADMIN:
                abort(403, description="Your role does not give access to this page.")
            if not roles and user.role is Role.SALESPERSON:
                abort(403, description="Your role does not give access to this page.")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator
