"""Admin pages. Each view parses a form, calls one directory service, commits, and
redirects; on a bad value the form is shown again with the field's error and nothing is
saved. Only admins get in: everyone else gets 403.
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
from sqlalchemy.orm import selectinload

from models import (
    ApiToken,
    AuditEntry,
    BusinessHours,
    Customer,
    Holiday,
    Line,
    Role,
    Salesperson,
    User,
    utcnow,
)
from models.audit import record
from models.contact import format_phone
from notifications.jobs import (
    JobSettings,
    assign_waiting_jobs,
    manager_details_changed,
    open_job_counts,
)

from ..database import get_session
from ..errors import SwitchboardError
from ..security import current_user, login_user
from ..setup import admin as setup
from ..setup.importer import HEADERS, ImportFailed, import_directory
from ..setup.users import InvalidField, create_user, set_password
from ..tokens import create_token, hash_token, list_tokens, revoke_token

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


def _give_room_to_waiting_jobs(message: str) -> str:
    """After a change that may give an account manager room: assign jobs left waiting."""
    assigned = assign_waiting_jobs(
        get_session(),
        actor=_actor().label,
        settings=_job_settings(),
    )
    if not assigned:
        return message
    references = ", ".join(job.reference for job in assigned)
    return f"{message} Waiting jobs now assigned: {references}."


def _done(message: str, endpoint: str, **values: Any):
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


# --- salespeople and their lines ---------------------------------------------------------


def _salespeople() -> list[Salesperson]:
    return list(
        get_session().scalars(
            select(Salesperson).options(selectinload(Salesperson.lines)).order_by(Salesperson.name)
        )
    )


@bp.get("/salespeople")
def salespeople():
    """Every salesperson with their diverted lines."""
    return render_template("admin/salespeople.html", salespeople=_salespeople(), errors={}, form={})


@bp.post("/salespeople")
def add_salesperson():
    """Add a salesperson, and their first line when both numbers are given."""
    session = get_session()
    form = request.form
    try:
        person = setup.save_salesperson(
            session,
            _actor(),
            salesperson_id=None,
            name=form.get("name", ""),
            email=form.get("email", ""),
            phone=form.get("phone"),
            region=_region(),
        )
        if form.get("public_number") or form.get("twilio_number"):
            setup.save_line(
                session,
                _actor(),
                salesperson_id=person.id,
                line_id=None,
                public_number=form.get("public_number", ""),
                twilio_number=form.get("twilio_number", ""),
                region=_region(),
            )
    except SwitchboardError as exc:
        return _failed("admin/salespeople.html", exc, salespeople=_salespeople())
    return _done(f"Added {person.name}.", "admin.salesperson", salesperson_id=person.id)


def _person(salesperson_id: int) -> Salesperson:
    person = get_session().get(Salesperson, salesperson_id)
    if person is None:
        abort(404, description="No such salesperson.")
    return person


@bp.get("/salespeople/<int:salesperson_id>")
def salesperson(salesperson_id: int):
    """One salesperson: their details and lines, with forms to change them."""
    return render_template(
        "admin/salesperson.html", person=_person(salesperson_id), errors={}, form={}
    )


@bp.post("/salespeople/<int:salesperson_id>")
def edit_salesperson(salesperson_id: int):
    """Change a salesperson's name, email, private phone or whether they are active."""
    form = request.form
    try:
        person = setup.save_salesperson(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            name=form.get("name", ""),
            email=form.get("email", ""),
            phone=form.get("phone"),
            active=_checked("active"),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=_person(salesperson_id))
    return _done(f"Saved {person.name}.", "admin.salesperson", salesperson_id=salesperson_id)


@bp.post("/salespeople/<int:salesperson_id>/login")
def give_salesperson_login(salesperson_id: int):
    """Give a salesperson a console login (her calendar and availability only)."""
    person = _person(salesperson_id)
    form = request.form
    try:
        if form.get("password", "") != form.get("password_again", ""):
            raise InvalidField("password_again", "the two passwords differ")
        if not form.get("password"):
            raise InvalidField("password", "a login needs a password")
        create_user(
            get_session(),
            email=person.email,
            role=Role.SALESPERSON,
            name=person.name,
            password=form.get("password", ""),
            region=_region(),
            actor=_actor().label,
            actor_user_id=_actor().user_id,
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=person)
    return _done(
        f"{person.name} can now log in as {person.email}.",
        "admin.salesperson",
        salesperson_id=salesperson_id,
    )


@bp.post("/salespeople/<int:salesperson_id>/lines")
def add_line(salesperson_id: int):
    """Add a diverted line (old mobile number → Twilio number) to a salesperson."""
    form = request.form
    try:
        line = setup.save_line(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            line_id=None,
            public_number=form.get("public_number", ""),
            twilio_number=form.get("twilio_number", ""),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed("admin/salesperson.html", exc, person=_person(salesperson_id))
    return _done(
        f"Added the line {format_phone(line.public_number)}.",
        "admin.salesperson",
        salesperson_id=salesperson_id,
    )


@bp.post("/salespeople/<int:salesperson_id>/lines/<int:line_id>")
def edit_line(salesperson_id: int, line_id: int):
    """Change a line's numbers, or switch it off (calls to it then reach an unknown line)."""
    form = request.form
    try:
        setup.save_line(
            get_session(),
            _actor(),
            salesperson_id=salesperson_id,
            line_id=line_id,
            public_number=form.get("public_number", ""),
            twilio_number=form.get("twilio_number", ""),
            active=_checked("active"),
            region=_region(),
        )
    except SwitchboardError as exc:
        return _failed(
            "admin/salesperson.html", exc, person=_person(salesperson_id), line_id=line_id
        )
    return _done("Saved the line.", "admin.salesperson", salesperson_id=salesperson_id)


# --- users -------------------------------------------------------------------------------


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
    password = form.get("password") or None
    try:
        if password != (form.get("password_again") or None):
            raise InvalidField("password_again", "the two passwords differ")
        user = create_user(
            get_session(),
            email=form.get("email", ""),
            role=form.get("role", ""),
            name=form.get("name"),
            phone=form.get("phone"),
            capacity=form.get("capacity"),
            password=password,
            region=_region(),
            actor=_actor().label,
            actor_user_id=_actor().user_id,
        )
    except SwitchboardError as exc:
        return _failed(
            "admin/users.html", exc, groups=_users(), open_jobs=open_job_counts(get_session())
        )
    message = _give_room_to_waiting_jobs(f"Created {user.name} ({ROLE_LABELS[user.role]}).")
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
    before = _user(user_id)
    was = (before.name, before.email, before.phone)
    try:
        saved = setup.update_user(
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
        )
    except SwitchboardError as exc:
        return _failed("admin/user.html", exc, user=_user(user_id))
    if (saved.name, saved.email, saved.phone) != was:
        manager_details_changed(get_session(), saved, old_email=was[1], settings=_job_settings())
    return _done(_give_room_to_waiting_jobs(f"Saved {saved.name}."), "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/password")
def reset_password(user_id: int):
    """Set a new login password for a user."""
    target = _user(user_id)
    form = request.form
    try:
        if form.get("password", "") != form.get("password_again", ""):
            raise InvalidField("password_again", "the two passwords differ")
        set_password(
            get_session(),
            email=target.email,
            password=form.get("password", ""),
            actor=_actor().label,
            actor_user_id=_actor().user_id,
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
        saved = setup.set_user_active(get_session(), _actor(), user_id=user_id, active=active)
    except SwitchboardError as exc:
        return _failed("admin/user.html", exc, user=_user(user_id))
    state = "reactivated" if active else "deactivated"
    message = _give_room_to_waiting_jobs(f"{saved.name} is {state}.")
    return _done(message, "admin.user", user_id=user_id)


@bp.post("/users/<int:user_id>/availability")
def set_availability(user_id: int):
    """Switch a coordinator's phone on or off for incoming calls."""
    saved = setup.set_availability(
        get_session(), _actor(), user_id=user_id, available=_checked("available")
    )
    state = "rings for calls" if saved.available else "does not ring"
    return _done(f"{saved.name} {state}.", "admin.users")


# --- business hours and holidays -----------------------------------------------------------


def _hours_rows() -> dict[int, BusinessHours]:
    return {row.weekday: row for row in get_session().scalars(select(BusinessHours))}


@bp.get("/hours")
def hours():
    """Opening hours of the coordinator team per weekday, and holidays."""
    return render_template("admin/hours.html", **_hours_context(), errors={}, form={})


def _hours_context() -> dict[str, Any]:
    session = get_session()
    settings = setup.org_settings(session, current_app.config["TIMEZONE"])
    return {
        "rows": _hours_rows(),
        "holidays": session.scalars(select(Holiday).order_by(Holiday.day)).all(),
        "timezone": settings.timezone,
    }


@bp.post("/hours")
def save_hours():
    """Save opening hours; a weekday without a tick is closed."""
    form = request.form
    wanted: dict[int, Any] = {}
    try:
        for weekday in range(7):
            if not _checked(f"open_{weekday}"):
                wanted[weekday] = None
                continue
            opens = setup.parse_time(form.get(f"opens_{weekday}"), f"opens_{weekday}")
            closes = setup.parse_time(form.get(f"closes_{weekday}"), f"closes_{weekday}")
            if opens is None:
                raise InvalidField(f"opens_{weekday}", "an opening time is required")
            if closes is None:
                raise InvalidField(f"closes_{weekday}", "a closing time is required")
            wanted[weekday] = (opens, closes)
        setup.save_business_hours(get_session(), _actor(), wanted)
    except SwitchboardError as exc:
        return _failed("admin/hours.html", exc, **_hours_context())
    return _done("Business hours saved.", "admin.hours")


@bp.post("/holidays")
def add_holiday():
    """Add a holiday: calls that day go to voicemail."""
    form = request.form
    try:
        holiday = setup.add_holiday(
            get_session(), _actor(), day=form.get("day", ""), name=form.get("holiday_name", "")
        )
    except SwitchboardError as exc:
        if isinstance(exc, InvalidField) and exc.field == "name":
            exc = InvalidField("holiday_name", exc.message)
        return _failed("admin/hours.html", exc, **_hours_context())
    return _done(f"Added {holiday.name} ({holiday.day:%d %b %Y}).", "admin.hours")


@bp.post("/holidays/<int:holiday_id>/delete")
def delete_holiday(holiday_id: int):
    """Remove a holiday."""
    setup.delete_holiday(get_session(), _actor(), holiday_id=holiday_id)
    return _done("Holiday removed.", "admin.hours")


# --- organisation settings -----------------------------------------------------------------


@bp.get("/settings")
def settings():
    """The organisation's name, time zone, SLA, ring timeout, supervisor, dial-in number."""
    current = setup.org_settings(get_session(), current_app.config["TIMEZONE"])
    get_session().commit()
    return render_template("admin/settings.html", settings=current, errors={}, form={})


@bp.context_processor
def _reminder_default() -> dict[str, Any]:
    from notifications.reminders import DEFAULT_REMINDER_TIME

    return {"default_reminder_time": DEFAULT_REMINDER_TIME}


@bp.post("/settings/reminders")
def save_reminder_time():
    """When customers get appointment reminders; pending ones move to the new time."""
    from notifications.reminders import ReminderLinks, reminder_upkeep

    from ..console.helpers import public_url

    session = get_session()
    current = setup.org_settings(session, current_app.config["TIMEZONE"])
    try:
        at = setup.parse_time(request.form.get("reminder_time"), "reminder_time")
        if at is None:
            raise InvalidField("reminder_time", "enter a time such as 16:00")
    except SwitchboardError as exc:
        return _failed("admin/settings.html", exc, settings=current)
    if current.reminder_time != at:
        old = current.reminder_time
        current.reminder_time = at
        session.flush()
        record(
            session,
            actor=_actor().label,
            actor_user_id=_actor().user_id,
            entity_type="org_settings",
            entity_id=current.id,
            action="update",
            details={"reminder_time": [old.isoformat() if old else None, at.isoformat()]},
        )
        reminder_upkeep(
            session,
            now=utcnow(),
            links=ReminderLinks(public_url(""), current_app.config["SECRET_KEY"]),
            default_timezone=current_app.config["TIMEZONE"],
        )
    return _done(f"Reminders go out at {at:%H:%M} the business day before.", "admin.settings")


@bp.post("/settings")
def save_settings():
    """Save the organisation settings."""
    form = request.form
    session = get_session()
    try:
        setup.save_settings(
            session,
            _actor(),
            name=form.get("name", ""),
            timezone=form.get("timezone", ""),
            enquiry_sla_minutes=form.get("enquiry_sla_minutes", ""),
            ring_timeout_seconds=form.get("ring_timeout_seconds", ""),
            supervisor_email=form.get("supervisor_email"),
            teleconference_number=form.get("teleconference_number"),
            region=_region(),
        )
    except SwitchboardError as exc:
        current = setup.org_settings(session, current_app.config["TIMEZONE"])
        return _failed("admin/settings.html", exc, settings=current)
    return _done("Settings saved.", "admin.settings")


# --- API tokens ------------------------------------------------------------------------


@bp.get("/tokens")
def tokens():
    """API tokens for /api/v1: who uses the API, when it was last used, and revocation."""
    return render_template(
        "admin/tokens.html", tokens=list_tokens(get_session()), errors={}, form={}, new_token=None
    )


@bp.post("/tokens")
def add_token():
    """Create an API token and show it this once (only its hash is kept)."""
    session = get_session()
    name = " ".join((request.form.get("name") or "").split())
    if not name or len(name) > 200:
        exc = InvalidField("name", "give the token a name of up to 200 characters")
        return _failed("admin/tokens.html", exc, tokens=list_tokens(session), new_token=None)
    raw = create_token(session, name)
    created = session.scalars(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))).one()
    actor = _actor()
    record(
        session,
        actor=actor.label,
        actor_user_id=actor.user_id,
        entity_type="api_token",
        entity_id=created.id,
        action="create",
        details={"name": name},
    )
    session.commit()
    # Rendered, not flashed: a flash would put the secret in the session cookie.
    response = render_template(
        "admin/tokens.html", tokens=list_tokens(session), errors={}, form={}, new_token=raw
    )
    return response, 201, {"Cache-Control": "no-store"}


@bp.post("/tokens/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke an API token: requests carrying it get 401 from now on."""
    session = get_session()
    token = revoke_token(session, token_id)
    if token is None:
        abort(404, description="No such API token.")
    actor = _actor()
    record(
        session,
        actor=actor.label,
        actor_user_id=actor.user_id,
        entity_type="api_token",
        entity_id=token.id,
        action="revoke",
        details={"name": token.name},
    )
    return _done(f"Revoked the API token {token.name!r}.", "admin.tokens")


# --- CSV import ----------------------------------------------------------------------------


@bp.get("/import")
def import_page():
    """Upload a directory CSV file (the same files `switchboard import` reads)."""
    return render_template(
        "admin/import.html", headers=HEADERS, problems=[], chosen=None, checked=None
    )


@bp.post("/import")
def import_upload():
    """Check the whole file; import it only if every row is good, else list every bad row."""
    kind = request.form.get("kind", "")
    upload = request.files.get("file")
    if kind not in HEADERS or upload is None or not upload.filename:
        problem = "Choose what the file holds and a CSV file to upload."
        return render_template(
            "admin/import.html", headers=HEADERS, problems=[problem], chosen=kind
        ), 422
    session = get_session()
    try:
        summary = import_directory(
            session, kind, upload.stream.read(), region=_region(), actor=_actor().label
        )
    except ImportFailed as failure:
        session.rollback()
        problems = [str(error) for error in failure.errors]
        return render_template(
            "admin/import.html",
            headers=HEADERS,
            problems=problems,
            chosen=kind,
            filename=upload.filename,
        ), 422
    if request.form.get("check"):
        session.rollback()
        return render_template(
            "admin/import.html",
            headers=HEADERS,
            problems=[],
            chosen=kind,
            checked=f"{upload.filename} is good. Importing it would give: {summary}.",
        )
    return _done(f"Imported {upload.filename}: {summary}.", "admin.import_page")


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
