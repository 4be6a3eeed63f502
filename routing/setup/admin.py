"""Directory changes made on the admin pages: salespeople and lines, users, hours, holidays,
organisation settings. Each function validates plain values, changes rows, writes an audit
entry and flushes; the caller commits. Bad values raise InvalidField naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    BusinessHours,
    Holiday,
    Line,
    OrgSettings,
    Role,
    Salesperson,
    User,
    utcnow,
)
from models.audit import record
from models.organisation import current_settings
from routing.errors import Conflict, NotFound

from .users import (
    InvalidField,
    check_email_free,
    clean_capacity,
    clean_email,
    clean_phone,
    parse_role,
)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as the audit log names them."""

    label: str
    user_id: int | None = None


def _audit(
    session: Session,
    actor: Actor,
    entity_type: str,
    entity_id: int,
    action: str,
    details: dict[str, Any],
) -> None:
    record(
        session,
        actor=actor.label,
        actor_user_id=actor.user_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        details=details,
    )


def _name(raw: str | None, field: str = "name") -> str:
    value = " ".join((raw or "").split())
    if not value:
        raise InvalidField(field, "is required")
    if len(value) > 200:
        raise InvalidField(field, "is longer than 200 characters")
    return value


def _changes(obj: Any, wanted: dict[str, Any]) -> dict[str, list[Any]]:
    """Apply ``wanted`` to ``obj``; the audit trail of what really changed (old, new)."""
    changed: dict[str, list[Any]] = {}
    for key, value in wanted.items():
        old = getattr(obj, key)
        if old != value:
            changed[key] = [_plain(old), _plain(value)]
            setattr(obj, key, value)
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, time | date):
        return value.isoformat()
    if isinstance(value, Role):
        return value.value
    return value


def _get(session: Session, model: type, ident: int, what: str) -> Any:
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound(f"no {what} #{ident}")
    return obj


# --- salespeople and lines ---------------------------------------------------------------


def save_salesperson(
    session: Session,
    actor: Actor,
    *,
    salesperson_id: int | None,
    name: str,
    email: str,
    phone: str | None,
    active: bool = True,
    region: str = "US",
) -> Salesperson:
    """Create (``salesperson_id`` None) or update a salesperson."""
    wanted = {
        "name": _name(name),
        "email": clean_email(email),
        "phone": clean_phone(phone, region),
        "active": bool(active),
    }
    clash = session.scalar(select(Salesperson).where(Salesperson.email == wanted["email"]))
    if clash is not None and clash.id != salesperson_id:
        raise InvalidField("email", f"{wanted['email']} is already the email of {clash.name}")
    if salesperson_id is None:
        person = Salesperson(**wanted)
        session.add(person)
        session.flush()
        _audit(session, actor, "salesperson", person.id, "create", {"email": person.email})
        return person
    person = _get(session, Salesperson, salesperson_id, "salesperson")
    changed = _changes(person, wanted)
    session.flush()
    if changed:
        _audit(session, actor, "salesperson", person.id, "update", changed)
        _follow_login(session, actor, person, changed)
    return person


def _follow_login(
    session: Session, actor: Actor, person: Salesperson, changed: dict[str, list[Any]]
) -> None:
    """Her console login follows her record: same email; no login once she is inactive."""
    login = session.get(User, person.user_id) if person.user_id else None
    if login is None:
        return
    follow: dict[str, Any] = {}
    if "email" in changed and login.email != person.email:
        check_email_free(session, person.email, login.id)
        follow["email"] = person.email
    if "active" in changed and not person.active and login.active:
        follow["active"] = False
    login_changes = _changes(login, follow)
    session.flush()
    if login_changes:
        _audit(session, actor, "user", login.id, "update", login_changes)


def save_line(
    session: Session,
    actor: Actor,
    *,
    salesperson_id: int,
    line_id: int | None,
    public_number: str,
    twilio_number: str,
    active: bool = True,
    region: str = "US",
) -> Line:
    """Add a diverted line to a salesperson, or change one of theirs."""
    person = _get(session, Salesperson, salesperson_id, "salesperson")
    public = clean_phone(public_number, region, "public_number")
    twilio = clean_phone(twilio_number, region, "twilio_number")
    if public is None:
        raise InvalidField("public_number", "the old mobile number is required")
    if twilio is None:
        raise InvalidField("twilio_number", "the Twilio number is required")
    if public == twilio:
        raise InvalidField("twilio_number", "must differ from the old mobile number")
    if twilio in set(session.scalars(select(OrgSettings.teleconference_number))):
        raise InvalidField("twilio_number", f"{twilio} is the teleconference dial-in number")
    # Besides uniqueness: a number diverted to another diverted number would loop calls.
    for field, column, value in (
        ("twilio_number", Line.twilio_number, twilio),
        ("public_number", Line.public_number, public),
        ("twilio_number", Line.public_number, twilio),
        ("public_number", Line.twilio_number, public),
    ):
        clash = session.scalar(select(Line).where(column == value))
        if clash is not None and clash.id != line_id:
            raise InvalidField(field, f"{value} is already on {clash.salesperson.name}'s line")
    if line_id is None:
        line = Line(public_number=public, twilio_number=twilio, active=bool(active))
        person.lines.append(line)
        session.flush()
        _audit(
            session,
            actor,
            "line",
            line.id,
            "create",
            {"salesperson": person.email, "public_number": public, "twilio_number": twilio},
        )
        return line
    line = _get(session, Line, line_id, "line")
    if line.salesperson_id != person.id:
        raise NotFound(f"no line #{line_id} for {person.name}")
    changed = _changes(
        line, {"public_number": public, "twilio_number": twilio, "active": bool(active)}
    )
    session.flush()
    if changed:
        _audit(session, actor, "line", line.id, "update", changed)
    return line


# --- users -------------------------------------------------------------------------------


def update_user(
    session: Session,
    actor: Actor,
    *,
    user_id: int,
    name: str,
    email: str | None = None,
    phone: str | None,
    role: str | Role,
    capacity: int | str | None,
    available: bool,
    active: bool,
    region: str = "US",
) -> User:
    """Change a user's name, login email, phone, role, availability, capacity or whether
    they may log in.

    ``email`` None keeps the address; a new one is normalised and checked as when adding a
    user. Sessions hold the user's id, so the user stays logged in when it changes.
    """
    user = _get(session, User, user_id, "user")
    new_role = parse_role(role) if isinstance(role, str) else role
    wanted: dict[str, Any] = {"name": _name(name)}
    if email is not None:
        wanted["email"] = clean_email(email)
        check_email_free(session, wanted["email"], user.id)
    wanted |= {
        "phone": clean_phone(phone, region),
        "role": new_role,
        "capacity": clean_capacity(capacity),
        "available": bool(available),
        "active": bool(active),
    }
    if new_role is Role.COORDINATOR and wanted["phone"] is None:
        raise InvalidField("phone", "a coordinator needs a phone number to ring")
    if new_role is not user.role and Role.SALESPERSON in (new_role, user.role):
        # A salesperson's login sees only her own calendar: it is never turned into a
        # staff login, nor a staff login into hers.
        raise InvalidField("role", "a salesperson's login cannot change role, nor get that role")
    if actor.user_id == user.id and (new_role is not Role.ADMIN or not wanted["active"]):
        raise InvalidField("role", "you cannot remove your own admin access")
    if user.role is Role.ADMIN and (new_role is not Role.ADMIN or not wanted["active"]):
        _keep_one_admin(session, user)
    changed = _changes(user, wanted)
    if "active" in changed and not user.active:
        user.end_sessions()
    session.flush()
    if changed:
        _audit(session, actor, "user", user.id, "update", changed)
    return user


def set_user_active(session: Session, actor: Actor, *, user_id: int, active: bool) -> User:
    """Deactivate a user (they can no longer log in, and are not rung) or reactivate them."""
    user = _get(session, User, user_id, "user")
    if not active and actor.user_id == user.id:
        raise Conflict("you cannot deactivate yourself")
    if not active and user.role is Role.ADMIN:
        _keep_one_admin(session, user)
    if user.active != active:
        user.active = active
        if not active:
            user.end_sessions()  # reactivating her later must not revive an old cookie
        session.flush()
        _audit(session, actor, "user", user.id, "activate" if active else "deactivate", {})
    return user


def set_availability(session: Session, actor: Actor, *, user_id: int, available: bool) -> User:
    """Whether a coordinator's phone rings for incoming calls."""
    user = _get(session, User, user_id, "user")
    if user.available != available:
        user.available = available
        session.flush()
        _audit(session, actor, "user", user.id, "availability", {"available": available})
    return user


def _keep_one_admin(session: Session, leaving: User) -> None:
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.ADMIN, User.active.is_(True), User.id != leaving.id)
    )
    if not others:
        raise Conflict("the organisation needs at least one active admin")


# --- hours, holidays, settings -----------------------------------------------------------


def parse_time(raw: str | None, field: str) -> time | None:
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise InvalidField(field, f"{text!r} is not a time such as 08:00") from None


def save_business_hours(
    session: Session, actor: Actor, hours: dict[int, tuple[time, time] | None]
) -> None:
    """Set opening hours per weekday (0 = Monday); None means closed that day."""
    for weekday, span in hours.items():
        if span is not None and span[0] >= span[1]:
            raise InvalidField(f"closes_{weekday}", f"{WEEKDAYS[weekday]} closes before it opens")
    rows = {row.weekday: row for row in session.scalars(select(BusinessHours))}
    changed: dict[str, Any] = {}
    for weekday, span in sorted(hours.items()):
        row = rows.get(weekday)
        if span is None:
            if row is not None:
                session.delete(row)
                changed[WEEKDAYS[weekday]] = "closed"
            continue
        if row is None:
            session.add(BusinessHours(weekday=weekday, opens_at=span[0], closes_at=span[1]))
        elif (row.opens_at, row.closes_at) == span:
            continue
        else:
            row.opens_at, row.closes_at = span
        changed[WEEKDAYS[weekday]] = f"{span[0]:%H:%M}-{span[1]:%H:%M}"
    session.flush()
    if changed:
        _audit(session, actor, "business_hours", 0, "update", changed)


def add_holiday(session: Session, actor: Actor, *, day: str, name: str) -> Holiday:
    try:
        parsed = date.fromisoformat((day or "").strip())
    except ValueError:
        raise InvalidField("day", f"{day!r} is not a date such as 2026-12-25") from None
    label = _name(name)
    if session.scalar(select(Holiday).where(Holiday.day == parsed)) is not None:
        raise InvalidField("day", f"{parsed.isoformat()} is already a holiday")
    holiday = Holiday(day=parsed, name=label)
    session.add(holiday)
    session.flush()
    _audit(session, actor, "holiday", holiday.id, "create", {"day": parsed.isoformat()})
    return holiday


def delete_holiday(session: Session, actor: Actor, *, holiday_id: int) -> None:
    holiday = _get(session, Holiday, holiday_id, "holiday")
    _audit(session, actor, "holiday", holiday.id, "delete", {"day": holiday.day.isoformat()})
    session.delete(holiday)
    session.flush()


def org_settings(session: Session, default_timezone: str = "UTC") -> OrgSettings:
    """The single settings row, created with defaults when missing."""
    settings = current_settings(session)
    if settings is None:
        settings = OrgSettings(timezone=default_timezone)
        session.add(settings)
        session.flush()
    return settings


def save_settings(
    session: Session,
    actor: Actor,
    *,
    name: str,
    timezone: str,
    enquiry_sla_minutes: str | int,
    ring_timeout_seconds: str | int,
    supervisor_email: str | None,
    teleconference_number: str | None,
    region: str = "US",
) -> OrgSettings:
    tz = (timezone or "").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidField("timezone", f"{tz!r} is not a time zone such as Europe/London") from None
    wanted = {
        "name": _name(name),
        "timezone": tz,
        "enquiry_sla_minutes": _whole(enquiry_sla_minutes, "enquiry_sla_minutes", 1, 24 * 60),
        # Twilio rings a <Dial> for at most 600 seconds.
        "ring_timeout_seconds": _whole(ring_timeout_seconds, "ring_timeout_seconds", 5, 600),
        "supervisor_email": clean_email(supervisor_email, "supervisor_email")
        if (supervisor_email or "").strip()
        else None,
        "teleconference_number": clean_phone(
            teleconference_number, region, "teleconference_number"
        ),
    }
    number = wanted["teleconference_number"]
    if number is not None:
        line = session.scalar(
            select(Line).where((Line.twilio_number == number) | (Line.public_number == number))
        )
        if line is not None:
            raise InvalidField(
                "teleconference_number", f"{number} is a line of {line.salesperson.name}"
            )
    settings = org_settings(session, tz)
    changed = _changes(settings, wanted)
    if changed:
        settings.updated_at = utcnow()
        session.flush()
        _audit(session, actor, "org_settings", settings.id, "update", changed)
    return settings


def _whole(raw: str | int, field: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidField(field, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidField(field, f"must be between {low} and {high}")
    return value
