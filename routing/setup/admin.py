"""Directory changes made on the admin pages: salespeople and lines, hours, holidays,
organisation settings, reminder time and API tokens (users who log in: users.py). Each
function validates plain values, changes rows, writes an audit entry and flushes; the
caller commits. Bad values raise InvalidField naming the field.

Each admin action has one use case (``add_salesperson``, ``save_settings``,
``issue_token`` … here; ``add_user``, ``edit_user`` … in users.py): the view parses its
form, calls that one function and commits once. Services take ``now`` from the caller and
never read the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    ApiToken,
    BusinessHours,
    Holiday,
    Line,
    OrgSettings,
    Salesperson,
    User,
)
from models.organisation import current_settings
from notifications.reminders import ReminderLinks, reminder_upkeep
from routing.errors import NotFound

from ..tokens import new_token, revoke_token
from .changes import Actor, InvalidField, apply_changes, audit, clean_name, get_row
from .users import check_email_free, clean_email, clean_phone

__all__ = ["Actor", "InvalidField"]  # re-exported: the admin pages and tests use them here

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


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
        "name": clean_name(name),
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
        audit(session, actor, "salesperson", person.id, "create", {"email": person.email})
        return person
    person = get_row(session, Salesperson, salesperson_id, "salesperson")
    changed = apply_changes(person, wanted)
    session.flush()
    if changed:
        audit(session, actor, "salesperson", person.id, "update", changed)
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
    login_changes = apply_changes(login, follow)
    session.flush()
    if login_changes:
        audit(session, actor, "user", login.id, "update", login_changes)


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
    person = get_row(session, Salesperson, salesperson_id, "salesperson")
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
        audit(
            session,
            actor,
            "line",
            line.id,
            "create",
            {"salesperson": person.email, "public_number": public, "twilio_number": twilio},
        )
        return line
    line = get_row(session, Line, line_id, "line")
    if line.salesperson_id != person.id:
        raise NotFound(f"no line #{line_id} for {person.name}")
    changed = apply_changes(
        line, {"public_number": public, "twilio_number": twilio, "active": bool(active)}
    )
    session.flush()
    if changed:
        audit(session, actor, "line", line.id, "update", changed)
    return line


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
        audit(session, actor, "business_hours", 0, "update", changed)


def add_holiday(session: Session, actor: Actor, *, day: str, name: str) -> Holiday:
    try:
        parsed = date.fromisoformat((day or "").strip())
    except ValueError:
        raise InvalidField("day", f"{day!r} is not a date such as 2026-12-25") from None
    label = clean_name(name)
    if session.scalar(select(Holiday).where(Holiday.day == parsed)) is not None:
        raise InvalidField("day", f"{parsed.isoformat()} is already a holiday")
    holiday = Holiday(day=parsed, name=label)
    session.add(holiday)
    session.flush()
    audit(session, actor, "holiday", holiday.id, "create", {"day": parsed.isoformat()})
    return holiday


def delete_holiday(session: Session, actor: Actor, *, holiday_id: int) -> None:
    holiday = get_row(session, Holiday, holiday_id, "holiday")
    audit(session, actor, "holiday", holiday.id, "delete", {"day": holiday.day.isoformat()})
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


def settings_to_show(session: Session, default_timezone: str = "UTC") -> OrgSettings:
    """The settings row to show on a page, without writing one: before anyone saved the
    settings, an unsaved row holding the defaults (never added to the session)."""
    settings = current_settings(session)
    if settings is not None:
        return settings
    defaults = {
        column.key: column.default.arg
        for column in OrgSettings.__table__.columns
        if column.default is not None and column.default.is_scalar
    }
    return OrgSettings(**{**defaults, "timezone": default_timezone})


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
    now: datetime,
) -> OrgSettings:
    """Save the organisation settings (the row is created on the first save)."""
    tz = (timezone or "").strip()
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidField("timezone", f"{tz!r} is not a time zone such as Europe/London") from None
    wanted = {
        "name": clean_name(name),
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
    changed = apply_changes(settings, wanted)
    if changed:
        settings.updated_at = now
        session.flush()
        audit(session, actor, "org_settings", settings.id, "update", changed)
    return settings


def _whole(raw: str | int, field: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidField(field, f"must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise InvalidField(field, f"must be between {low} and {high}")
    return value


# --- use cases the admin pages call, one per action --------------------------------------


def add_salesperson(
    session: Session,
    actor: Actor,
    *,
    name: str,
    email: str,
    phone: str | None,
    public_number: str | None,
    twilio_number: str | None,
    region: str = "US",
) -> Salesperson:
    """Add a salesperson, and her first line when either number is given."""
    person = save_salesperson(
        session, actor, salesperson_id=None, name=name, email=email, phone=phone, region=region
    )
    if public_number or twilio_number:
        save_line(
            session,
            actor,
            salesperson_id=person.id,
            line_id=None,
            public_number=public_number or "",
            twilio_number=twilio_number or "",
            region=region,
        )
    return person


def save_reminder_time(
    session: Session,
    actor: Actor,
    *,
    reminder_time: str | None,
    links: ReminderLinks,
    default_timezone: str,
    now: datetime,
) -> time:
    """When customers get appointment reminders; pending ones move to the new time."""
    at = parse_time(reminder_time, "reminder_time")
    if at is None:
        raise InvalidField("reminder_time", "enter a time such as 16:00")
    settings = org_settings(session, default_timezone)
    if settings.reminder_time == at:
        return at
    old = settings.reminder_time
    settings.reminder_time = at
    session.flush()
    audit(
        session,
        actor,
        "org_settings",
        settings.id,
        "update",
        {"reminder_time": [old.isoformat() if old else None, at.isoformat()]},
    )
    reminder_upkeep(session, now=now, links=links, default_timezone=default_timezone)
    return at


def issue_token(session: Session, actor: Actor, *, name: str | None) -> str:
    """A new API token; its secret is returned this once (only its hash is kept)."""
    label = " ".join((name or "").split())
    if not label or len(label) > 200:
        raise InvalidField("name", "give the token a name of up to 200 characters")
    raw, token = new_token(session, label)
    audit(session, actor, "api_token", token.id, "create", {"name": label})
    return raw


def revoke_api_token(session: Session, actor: Actor, *, token_id: int, now: datetime) -> ApiToken:
    """Revoke an API token: requests carrying it are refused from now on."""
    token = revoke_token(session, token_id, now=now)
    if token is None:
        raise NotFound("No such API token.")
    audit(session, actor, "api_token", token.id, "revoke", {"name": token.name})
    return token
