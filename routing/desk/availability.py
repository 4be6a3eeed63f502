"""Each salesperson's availability: working hours, time off, standard appointment length.

A salesperson works the team's business hours unless she has hours of her own
(``Salesperson.own_hours``); organisation holidays and her time off (whole local days,
first to last inclusive) are never offered. Hours are wall-clock times in the
organisation's zone, turned into UTC day by day, so a DST change moves the UTC instants
and never the 09:00 the salesperson sees.

Admins change anyone's availability; a salesperson with a login changes her own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    Appointment,
    BookingStatus,
    BusinessCalendar,
    Role,
    Salesperson,
    SalespersonHours,
    TimeOff,
    User,
    audit,
)

from .errors import InvalidDisposition

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
APPOINTMENT_LENGTHS = (30, 45, 60, 90, 120)
MAX_TIME_OFF_DAYS = 366
MAX_NOTE = 300


class NotYourCalendar(Exception):
    """Only admins and the salesperson herself change her availability."""


@dataclass(frozen=True)
class Availability:
    """When one salesperson can be booked, as plain values."""

    zone: ZoneInfo
    hours: dict[int, tuple[time, time]]  # weekday → (from, to), local
    holidays: frozenset[date]
    time_off: tuple[tuple[date, date], ...]

    def is_off(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.time_off)

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """Her working period on local ``day`` as UTC instants, or None."""
        if day in self.holidays or self.is_off(day) or day.weekday() not in self.hours:
            return None
        opens, closes = self.hours[day.weekday()]
        start = datetime.combine(day, opens, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(day, closes, tzinfo=self.zone).astimezone(UTC)
        return (start, end) if start < end else None


def load_availability(
    session: Session, salesperson_id: int, zone: ZoneInfo, first_day: date, last_day: date
) -> Availability:
    """Her hours (or the team's), holidays and the time off touching [first, last]."""
    team = BusinessCalendar.load(session, default_timezone=zone.key)
    person = session.get(Salesperson, salesperson_id)
    if person is not None and person.own_hours:
        hours = {
            row.weekday: (row.opens_at, row.closes_at)
            for row in session.scalars(
                select(SalespersonHours).where(SalespersonHours.salesperson_id == person.id)
            )
        }
    else:
        # The team with no hours set yet offers no slots (rather than slots all night).
        hours = dict(team.hours)
    off = session.execute(
        select(TimeOff.first_day, TimeOff.last_day).where(
            TimeOff.salesperson_id == salesperson_id,
            TimeOff.last_day >= first_day,
            TimeOff.first_day <= last_day,
        )
    ).all()
    return Availability(zone, hours, team.holidays, tuple((a, b) for a, b in off))


def working_windows(
    session: Session, salesperson_id: int, first_day: date, days: int, zone: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Her working periods (UTC) on ``days`` local days from ``first_day``."""
    last_day = first_day + timedelta(days=days - 1)
    availability = load_availability(session, salesperson_id, zone, first_day, last_day)
    periods = (availability.window(first_day + timedelta(days=n)) for n in range(days))
    return [period for period in periods if period is not None]


# --- who may change it ----------------------------------------------------------------


def can_edit(user: User | None, person: Salesperson) -> bool:
    if user is None or not user.active:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.SALESPERSON and person.user_id == user.id


def _check(user: User, person: Salesperson) -> None:
    if not can_edit(user, person):
        raise NotYourCalendar(f"Only an admin or {person.name} can change her availability.")


def _audit(session: Session, actor: User, person: Salesperson, action: str, details: dict) -> None:
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="salesperson",
        entity_id=person.id,
        action=action,
        details=details,
    )


# --- changes ---------------------------------------------------------------------------


def _parse_time(raw: str, field: str, errors: dict[str, str]) -> time | None:
    text = (raw or "").strip()
    if not text:
        errors[field] = "Enter a time such as 09:00."
        return None
    try:
        return time.fromisoformat(text)
    except ValueError:
        errors[field] = f"{text!r} is not a time such as 09:00."
        return None


def parse_hours_form(form: Mapping[str, str]) -> tuple[bool, dict[int, tuple[time, time]], int]:
    """(own hours?, weekday → span, standard length) from the availability form."""
    errors: dict[str, str] = {}
    own = (form.get("own_hours") or "") == "own"
    hours: dict[int, tuple[time, time]] = {}
    if own:
        for weekday in range(7):
            if (form.get(f"works_{weekday}") or "") not in ("on", "1", "true"):
                continue
            opens = _parse_time(form.get(f"from_{weekday}", ""), f"from_{weekday}", errors)
            closes = _parse_time(form.get(f"to_{weekday}", ""), f"to_{weekday}", errors)
            if opens and closes:
                if opens >= closes:
                    errors[f"to_{weekday}"] = f"{WEEKDAYS[weekday]} ends before it starts."
                else:
                    hours[weekday] = (opens, closes)
        if not hours and not errors:
            errors["own_hours"] = "Tick at least one working day, or follow the team's hours."
    try:
        minutes = int(form.get("appointment_minutes") or 30)
    except ValueError:
        minutes = -1
    if minutes not in APPOINTMENT_LENGTHS:
        errors["appointment_minutes"] = "Choose one of the offered lengths."
    if errors:
        raise InvalidDisposition(errors)
    return own, hours, minutes


def save_hours(
    session: Session,
    person: Salesperson,
    *,
    own_hours: bool,
    hours: dict[int, tuple[time, time]],
    appointment_minutes: int,
    actor: User,
) -> dict[str, object]:
    """Set her hours (or back to the team's) and standard length; returns what changed."""
    _check(actor, person)
    if appointment_minutes not in APPOINTMENT_LENGTHS:
        raise InvalidDisposition({"appointment_minutes": "Choose one of the offered lengths."})
    before = {row.weekday: (row.opens_at, row.closes_at) for row in person.hours}
    changed: dict[str, object] = {}
    if person.own_hours != own_hours:
        changed["own_hours"] = [person.own_hours, own_hours]
        person.own_hours = own_hours
    if own_hours and before != hours:
        for row in list(person.hours):
            if row.weekday not in hours:
                person.hours.remove(row)
        existing = {row.weekday: row for row in person.hours}
        for weekday, (opens, closes) in hours.items():
            row = existing.get(weekday)
            if row is None:
                person.hours.append(
                    SalespersonHours(weekday=weekday, opens_at=opens, closes_at=closes)
                )
            else:
                row.opens_at, row.closes_at = opens, closes
        changed["hours"] = {
            WEEKDAYS[d]: f"{a:%H:%M}-{b:%H:%M}" for d, (a, b) in sorted(hours.items())
        }
    if person.appointment_minutes != appointment_minutes:
        changed["appointment_minutes"] = [person.appointment_minutes, appointment_minutes]
        person.appointment_minutes = appointment_minutes
    session.flush()
    if changed:
        _audit(session, actor, person, "availability", changed)
    return changed


def parse_time_off(form: Mapping[str, str]) -> tuple[date, date, str | None]:
    errors: dict[str, str] = {}
    days: list[date | None] = []
    for field in ("first_day", "last_day"):
        raw = (form.get(field) or "").strip()
        if not raw and field == "last_day":
            days.append(days[0] if days else None)
            continue
        try:
            days.append(date.fromisoformat(raw))
        except ValueError:
            errors[field] = "Enter a date such as 2026-12-24."
            days.append(None)
    first, last = days
    if first and last:
        if last < first:
            errors["last_day"] = "The last day is before the first."
        elif (last - first).days >= MAX_TIME_OFF_DAYS:
            errors["last_day"] = "Time off is entered a year at most at a time."
    note = " ".join((form.get("note") or "").split()) or None
    if note and len(note) > MAX_NOTE:
        errors["note"] = f"Keep the note under {MAX_NOTE} characters."
    if errors:
        raise InvalidDisposition(errors)
    assert first is not None and last is not None
    return first, last, note


def add_time_off(
    session: Session,
    person: Salesperson,
    *,
    first_day: date,
    last_day: date,
    note: str | None,
    actor: User,
    zone: ZoneInfo,
) -> tuple[TimeOff, list[Appointment]]:
    """Add days off; returns them and the booked appointments they fall on (to move)."""
    _check(actor, person)
    entry = TimeOff(first_day=first_day, last_day=last_day, note=note)
    person.time_off.append(entry)
    session.flush()
    _audit(
        session,
        actor,
        person,
        "time_off_added",
        {"first_day": first_day.isoformat(), "last_day": last_day.isoformat(), "note": note},
    )
    return entry, appointments_during(session, person.id, first_day, last_day, zone)


def delete_time_off(session: Session, person: Salesperson, time_off_id: int, actor: User) -> None:
    _check(actor, person)
    entry = session.get(TimeOff, time_off_id)
    if entry is None or entry.salesperson_id != person.id:
        return
    _audit(
        session,
        actor,
        person,
        "time_off_removed",
        {"first_day": entry.first_day.isoformat(), "last_day": entry.last_day.isoformat()},
    )
    person.time_off.remove(entry)
    session.flush()


def appointments_during(
    session: Session, salesperson_id: int, first_day: date, last_day: date, zone: ZoneInfo
) -> list[Appointment]:
    """Her booked appointments on the local days [first_day, last_day]."""
    start = datetime.combine(first_day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return list(
        session.scalars(
            select(Appointment)
            .where(
                Appointment.salesperson_id == salesperson_id,
                Appointment.status == BookingStatus.BOOKED,
                Appointment.start_at < end,
                Appointment.end_at > start,
            )
            .order_by(Appointment.start_at)
        )
    )
