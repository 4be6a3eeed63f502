"""Logins, roles, CSRF and response headers for the console; webhooks and the API
authenticate otherwise (signatures, bearer tokens)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape
from sqlalchemy import select
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash, generate_password_hash

from models import Job, Role, Task, User

from .database import get_session

csrf = CSRFProtect()
F = TypeVar("F", bound=Callable[..., Any])

# A hash to compare against when the email is unknown, so both failures take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

# Scripts only from our own files: no inline script, no event-handler attribute, no eval.
# Inline style attributes stay allowed (they cannot run code). JSON data blocks
# (<script type="application/json">) are data, not scripts, and need nothing here.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HSTS = "max-age=31536000"

# Bodies read before their signature is checked: webhooks are small, so anything far
# larger is refused with 413 before it is parsed (the console's CSV upload may be large).
BODY_LIMITS = (
    ("/twilio/", 64 * 1024),  # Twilio's forms are about 1 KB
    ("/sendgrid/", 1024 * 1024),  # SendGrid posts batches of up to 768 KB
)


def init_app(app: Flask) -> None:
    hops = app.config.get("TRUSTED_PROXIES") or 0
    if hops > 0:
        # Only the client address: PUBLIC_BASE_URL already says how Twilio reaches us.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0)  # type: ignore[method-assign]
    # Before CSRF's own check, which reads the form of every POST it does not exempt.
    app.before_request(_limit_body)
    csrf.init_app(app)
    app.before_request(_load_user)
    app.after_request(_security_headers)

    app.add_template_global(js_call, "js_call")

    @app.context_processor
    def _inject_user() -> dict[str, Any]:
        return {"current_user": g.get("user"), "Role": Role}


def js_call(function: str, *args: Any) -> Markup:
    """A call of ``Switchboard.<function>(*args)`` for console.js to make once the page is
    parsed, written as a JSON data block: the CSP forbids inline scripts, not data."""
    data = htmlsafe_json_dumps(list(args), dumps=current_app.json.dumps)
    return Markup(
        f'<script type="application/json" data-switchboard="{escape(function)}">{data}</script>'
    )


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
    session["epoch"] = user.session_epoch
    session.permanent = True
    g.user = user


def logout_user() -> None:
    """End every session of the signed-in user (PRODUCT.md §4), this one included."""
    user = current_user()
    if user is not None:
        user.end_sessions()
        get_session().commit()
    session.clear()
    g.user = None


def _load_user() -> None:
    g.user = None
    user_id = session.get("user_id")
    if user_id is None or request.path.startswith(("/twilio/", "/static/", "/healthz")):
        return
    user = get_session().get(User, user_id)
    if user is None or not user.active or session.get("epoch") != user.session_epoch:
        # Logged out elsewhere, password changed or reset, deactivated: this cookie is dead.
        session.clear()
        return
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

        # Who may call it, for the route inventory (tests/routing/test_route_inventory.py).
        wrapped.login_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


# --- who may do what to which row (PRODUCT.md §4) ---------------------------------------


def may_change_job(user: User | None, job: Job) -> bool:
    """Admins and coordinators change any job; an account manager only the jobs she manages."""
    if user is None:
        return False
    if user.role is Role.ACCOUNT_MANAGER:
        return job.account_manager_id == user.id
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def require_job_change(job: Job) -> None:
    """403 unless the signed-in user may change ``job``."""
    if not may_change_job(current_user(), job):
        abort(
            403,
            description=f"Job {job.reference} is managed by someone else: you can read it, "
            "not change it.",
        )


def may_see_task(user: User | None, task: Task) -> bool:
    """Each user sees the tasks assigned to her; admins see all."""
    if user is None:
        return False
    return user.role is Role.ADMIN or task.assignee_id == user.id


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (never an open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# --- request and response hygiene -------------------------------------------------------


def _limit_body() -> None:
    for prefix, limit in BODY_LIMITS:
        if not request.path.startswith(prefix):
            continue
        too_large = f"The request body is larger than {limit // 1024} KB."
        if request.content_length is not None:
            if request.content_length > limit:
                abort(413, description=too_large)
            request.max_content_length = limit
        elif request.environ.get("wsgi.input_terminated"):
            # A chunked body announces no length: read one byte past the limit, no more
            # (werkzeug stops there), and keep what was read for the form parser.
            request.max_content_length = limit + 1
            if len(request.get_data(cache=True, parse_form_data=False)) > limit:
                abort(413, description=too_large)
        return


def _security_headers(response: Response) -> Response:
    """PRODUCT.md §4: CSP without inline scripts, no framing, no sniffing, no referrer
    leaks; HSTS in production; nothing a logged-in user sees is kept in a cache."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if current_app.config["SWITCHBOARD_CONFIG"].ENV_NAME == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    endpoint = request.endpoint or ""
    if g.get("user") is not None and not endpoint.endswith("static"):
        headers["Cache-Control"] = "no-store"
    return response
