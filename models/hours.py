"""The organisation's business calendar and the version token that invalidates caches.

:class:`BusinessCalendar` answers "are we open?", "when is this SLA due?" in the
organisation's time zone from the BusinessHours and Holiday rows. It is a plain value:
build it once per directory version (see :func:`directory_version`) and reuse it.

Caching rule: ``org_settings.directory_version`` is a random token that changes
whenever the directory (users, salespeople, lines), business hours, holidays, settings or
teleconference numbers change. An ORM flush that touches any of those bumps it
automatically (a session event registered below), so admin pages and CSV imports cannot
forget; code that bypasses the ORM calls :func:`bump_directory_version`. A cache keyed by
the token is correct across processes: reading the token is one single-row query, and a
random token (not a counter) never repeats after a rolled-back transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Delete, Update, event, insert, inspect, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from .booking import Teleconference
from .organisation import BusinessHours, Holiday, Line, OrgSettings, Salesperson, User

# How far ahead the calendar looks for the next open period before giving up.
_SEARCH_DAYS = 400


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday (0 = Monday) and holidays, in one time zone.

    With no hours configured at all, every non-holiday day is open around the clock:
    an organisation that has not set hours yet still gets its calls answered.
    """

    timezone: ZoneInfo
    hours: dict[int, tuple[time, time]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()

    @classmethod
    def load(cls, session: Session, default_timezone: str = "UTC") -> BusinessCalendar:
        """Read settings, hours and holidays (three small queries)."""
        tz_name = session.scalar(select(OrgSettings.timezone).order_by(OrgSettings.id).limit(1))
        hours = {
            row.weekday: (row.opens_at, row.closes_at)
            for row in session.scalars(select(BusinessHours))
        }
        holidays = frozenset(session.scalars(select(Holiday.day)))
        return cls(ZoneInfo(tz_name or default_timezone), hours, holidays)

    def local(self, at: datetime) -> datetime:
        """``at`` shown in the organisation's time zone."""
        return _aware(at).astimezone(self.timezone)

    def is_business_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return not self.hours or day.weekday() in self.hours

    def opening_period(self, day: date) -> tuple[datetime, datetime] | None:
        """The open period of a local ``day`` as UTC instants, or None when closed."""
        if not self.is_business_day(day):
            return None
        if not self.hours:
            opens = datetime.combine(day, time(0), tzinfo=self.timezone)
            closes = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.timezone)
        else:
            opens_at, closes_at = self.hours[day.weekday()]
            opens = datetime.combine(day, opens_at, tzinfo=self.timezone)
            closes = datetime.combine(day, closes_at, tzinfo=self.timezone)
        return opens.astimezone(UTC), closes.astimezone(UTC)

    def _periods_from(self, at: datetime) -> Iterable[tuple[datetime, datetime]]:
        # Start one day early: a period of the previous local day never reaches past
        # midnight, but starting there costs nothing and keeps the loop obviously right.
        day = self.local(at).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            period = self.opening_period(day + timedelta(days=offset))
            if period is not None and period[1] > at:
                yield period

    def is_open(self, at: datetime) -> bool:
        """Whether the coordinator team is working at instant ``at``."""
        period = self.opening_period(self.local(at).date())
        return period is not None and period[0] <= _aware(at) < period[1]

    def next_opening(self, at: datetime) -> datetime | None:
        """``at`` itself when open, else the start of the next open period (UTC)."""
        at = _aware(at)
        for opens, _closes in self._periods_from(at):
            return max(opens, at)
        return None

    def add_business_minutes(self, start: datetime, minutes: int) -> datetime:
        """The instant ``minutes`` of open time after ``start`` (an SLA deadline).

        Minutes are real elapsed minutes, so a DST change inside an open period is
        counted as the clock on the wall shows it passing, not as 60 phantom minutes.
        """
        cursor = _aware(start).astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        if remaining <= timedelta(0):
            return cursor
        for opens, closes in self._periods_from(cursor):
            segment_start = max(opens, cursor)
            available = closes - segment_start
            if remaining <= available:
                return segment_start + remaining
            remaining -= available
            cursor = closes
        # Never open in the search window (everything a holiday?): count plain minutes.
        return _aware(start).astimezone(UTC) + timedelta(minutes=minutes)

    def previous_business_day(self, day: date) -> date:
        """The last business day strictly before ``day``."""
        for offset in range(1, _SEARCH_DAYS):
            candidate = day - timedelta(days=offset)
            if self.is_business_day(candidate):
                return candidate
        return day - timedelta(days=1)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime given to the business calendar")
    return at


# --- directory version ---------------------------------------------------------------


def directory_version(session: Session) -> str:
    """The current directory token (one single-row read); "" before any settings exist."""
    token = session.scalar(select(OrgSettings.directory_version).order_by(OrgSettings.id).limit(1))
    return token or ""


def bump_directory_version(session: Session) -> str:
    """Give the directory a new token so every process's caches reload. Returns it."""
    token = uuid.uuid4().hex
    connection = session.connection()
    first = connection.scalar(select(OrgSettings.id).order_by(OrgSettings.id).limit(1))
    if first is None:
        connection.execute(insert(OrgSettings).values(directory_version=token))
    else:
        connection.execute(
            update(OrgSettings).where(OrgSettings.id == first).values(directory_version=token)
        )
    return token


# Attributes of a User that change who rings or what a whisper says; logins do not count.
_USER_ROUTING_FIELDS = ("name", "phone", "role", "active", "available")
_WATCHED = (Salesperson, Line, BusinessHours, Holiday, OrgSettings, Teleconference)
_ORG_IGNORED = {"directory_version", "updated_at"}


def _changes_directory(obj: Any, *, dirty: bool) -> bool:
    if isinstance(obj, User):
        if not dirty:
            return True
        state = inspect(obj)
        return any(state.attrs[name].history.has_changes() for name in _USER_ROUTING_FIELDS)
    if isinstance(obj, OrgSettings) and dirty:
        state = inspect(obj)
        return any(
            attr.history.has_changes() for attr in state.attrs if attr.key not in _ORG_IGNORED
        )
    return isinstance(obj, _WATCHED)


@event.listens_for(Session, "before_flush")
def _note_directory_changes(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get("directory_changed"):
        return
    changed = any(_changes_directory(o, dirty=False) for o in session.new) or any(
        _changes_directory(o, dirty=False) for o in session.deleted
    )
    if not changed:
        changed = any(
            _changes_directory(o, dirty=True)
            for o in session.dirty
            if session.is_modified(o, include_collections=False)
        )
    if changed:
        session.info["directory_changed"] = True


@event.listens_for(Session, "after_flush_postexec")
def _bump_after_flush(session: Session, _context: Any) -> None:
    if session.info.pop("directory_changed", False):
        bump_directory_version(session)


_WATCHED_TABLES = {cls.__table__.name for cls in (User, *_WATCHED)}


@event.listens_for(Session, "do_orm_execute")
def _bump_on_bulk_statements(state: ORMExecuteState) -> None:
    # Bulk UPDATE/DELETE through the ORM never reach the flush events above.
    statement = state.statement
    if isinstance(statement, Update | Delete) and statement.table.name in _WATCHED_TABLES:
        if statement.table.name == OrgSettings.__tablename__:
            values = getattr(statement, "_values", None) or {}
            columns = {getattr(c, "key", c) for c in values}
            if columns <= _ORG_IGNORED | {"directory_version"}:
                return
        result = state.invoke_statement()
        bump_directory_version(state.session)
        return result
    return None
