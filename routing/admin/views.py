"""The admin blueprint: who may enter, what every admin page shares, the overview and the
audit log. The pages themselves sit beside it, one module per area (salespeople, users,
hours and settings, tokens, CSV import, capacity).

Each view parses a form, calls one use case (routing/setup/admin.py, routing/setup/users.py),
commits once and redirects; on a bad value the form is shown again with the field's error
and nothing is saved. A GET never writes. Only admins get in: everyone else gets 403.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from models import (
    AuditEntry,
    Customer,
    Line,
    Role,
    Salesperson,
    User,
)
from models.contact import format_phone
from notifications.jobs import JobSettings

from ..database import get_session
from ..errors import SwitchboardError
from ..security import current_user
from ..setup import admin as setup
from ..setup.users import UserSaved

bp = Blueprint("admin", __name__, url_prefix="/admin", static_folder="static")

ROLE_LABELS = {
    Role.COORDINATOR: "Coordinator",
    Role.ACCOUNT_MANAGER: "Account manager",
    Role.ADMIN: "Admin",
    Role.SALESPERSON: "Salesperson",
}


@bp.before_request
def _admins_only():
    user = current_user()
    if user is None:
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if user.role is not Role.ADMIN:
        abort(403, description="Only admins can change the directory.")
    return None


@bp.app_template_filter("phone")
def _phone(value: str | None) -> str:
    return format_phone(value)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"ROLE_LABELS": ROLE_LABELS, "WEEKDAYS": setup.WEEKDAYS}


def _actor() -> setup.Actor:
    user = current_user()
    assert user is not None
    return setup.Actor(user.email, user.id)


def _region() -> str:
    return current_app.config["DEFAULT_REGION"]


def _checked(name: str) -> bool:
    return request.form.get(name) in ("on", "1", "true", "yes")


def _failed(template: str, exc: SwitchboardError, **context: Any):
    """Show the form again with the error next to its field; roll back any change."""
    get_session().rollback()
    field = exc.details.get("field") if isinstance(exc.details, dict) else None
    errors = {field or "form": exc.message}
    return render_template(template, errors=errors, form=request.form, **context), (
        exc.status_code if exc.status_code != 404 else 422
    )


def _job_settings() -> JobSettings:
    return JobSettings.from_config(current_app.config["SWITCHBOARD_CONFIG"])


def _with_assigned_jobs(message: str, saved: UserSaved) -> str:
    """The flash message, naming the waiting jobs the change let someone take."""
    if not saved.assigned_jobs:
        return message
    references = ", ".join(job.reference for job in saved.assigned_jobs)
    return f"{message} Waiting jobs now assigned: {references}."


def _done(message: str, endpoint: str, **values: Any):
    """The one commit of a successful admin form, then back to a page with a message."""
    get_session().commit()
    flash(message)
    return redirect(url_for(endpoint, **values))


# --- overview ------------------------------------------------------------------------


@bp.get("/")
def index():
    """Admin overview: what the directory holds and the latest changes."""
    session = get_session()
    counts = dict(
        session.execute(select(User.role, func.count()).group_by(User.role)).all()  # type: ignore[arg-type]
    )
    summary = {
        "salespeople": session.scalar(select(func.count()).select_from(Salesperson)),
        "lines": session.scalar(select(func.count()).select_from(Line)),
        "customers": session.scalar(select(func.count()).select_from(Customer)),
        "coordinators": counts.get(Role.COORDINATOR, 0),
        "account_managers": counts.get(Role.ACCOUNT_MANAGER, 0),
        "admins": counts.get(Role.ADMIN, 0),
    }
    recent = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(15)).all()
    return render_template("admin/index.html", summary=summary, recent=recent)


# --- audit log -----------------------------------------------------------------------------

AUDIT_PAGE_SIZE = 50


@bp.get("/audit")
def audit():
    """Who changed what, newest first; filter by kind of record and by who did it."""
    session = get_session()
    entity_type = (request.args.get("type") or "").strip()
    actor = (request.args.get("actor") or "").strip()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(AuditEntry)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if actor:
        query = query.where(AuditEntry.actor.ilike(f"%{actor}%"))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    entries = session.scalars(
        query.order_by(AuditEntry.id.desc())
        .offset((page - 1) * AUDIT_PAGE_SIZE)
        .limit(AUDIT_PAGE_SIZE)
    ).all()
    types = session.scalars(
        select(AuditEntry.entity_type).distinct().order_by(AuditEntry.entity_type)
    ).all()
    return render_template(
        "admin/audit.html",
        entries=entries,
        types=types,
        entity_type=entity_type,
        actor=actor,
        page=page,
        pages=max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1),
        total=total,
    )
