"""The routing table: what the call path needs (lines, coordinators, hours, settings),
cached in-process per directory version.

Every incoming call learns the current token (``org_settings.directory_version``), read
with its INSERT; only when it changed since the last call are lines, coordinators, hours,
holidays and settings read again. Directory edits bump the token automatically
(models/hours.py), so the next call after an edit sees it, in every web worker.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import (
    BusinessCalendar,
    Line,
    Role,
    Salesperson,
    Teleconference,
    User,
    directory_version,
)
from models.organisation import current_settings

# Twilio's <Dial> rings at most ten <Number>s at once.
MAX_SIMULTANEOUS = 10


@dataclass(frozen=True)
class LineInfo:
    line_id: int
    salesperson_id: int
    salesperson_name: str
    public_number: str


@dataclass(frozen=True)
class Coordinator:
    user_id: int
    name: str
    phone: str


@dataclass(frozen=True)
class Defaults:
    """Settings from the environment, used until the organisation sets its own."""

    timezone: str = "UTC"
    enquiry_sla_minutes: int = 15
    ring_timeout_seconds: int = 20


@dataclass(frozen=True)
class RoutingTable:
    version: str
    calendar: BusinessCalendar
    lines: dict[str, LineInfo]
    lines_by_id: dict[int, LineInfo]
    coordinators: tuple[Coordinator, ...]
    coordinators_by_id: dict[int, Coordinator]
    enquiry_sla_minutes: int
    ring_timeout_seconds: int
    teleconference_numbers: frozenset[str]
    org_teleconference_number: str | None = None
    # The calendar's opening period per local day, as calls ask for it (is_open).
    _periods: dict[date, tuple[datetime, datetime] | None] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def load(
        cls, session: Session, version: str, defaults: Defaults, now: datetime
    ) -> RoutingTable:
        settings = current_settings(session)
        calendar = BusinessCalendar.load(session, defaults.timezone)
        rows = session.execute(
            select(
                Line.id, Line.twilio_number, Line.public_number, Salesperson.id, Salesperson.name
            )
            .join(Salesperson, Line.salesperson_id == Salesperson.id)
            .where(Line.active.is_(True))
        )
        lines = {
            twilio: LineInfo(line_id, sp_id, sp_name, public)
            for line_id, twilio, public, sp_id, sp_name in rows
        }
        coordinators = tuple(
            Coordinator(user.id, user.name, user.phone)
            for user in session.scalars(
                select(User)
                .where(
                    User.role == Role.COORDINATOR,
                    User.active.is_(True),
                    User.available.is_(True),
                    User.phone.is_not(None),
                )
                .order_by(User.id)
            )
        )
        # Teleconferences that have not ended yet; the PIN check decides the rest.
        tele_numbers = set(
            session.scalars(
                select(Teleconference.dial_in_number)
                .where(Teleconference.end_at > now - timedelta(hours=1))
                .distinct()
            )
        )
        if settings is not None and settings.teleconference_number:
            tele_numbers.add(settings.teleconference_number)
        return cls(
            version=version,
            calendar=calendar,
            lines=lines,
            lines_by_id={info.line_id: info for info in lines.values()},
            coordinators=coordinators[:MAX_SIMULTANEOUS],
            coordinators_by_id={c.user_id: c for c in coordinators},
            enquiry_sla_minutes=(
                settings.enquiry_sla_minutes if settings else defaults.enquiry_sla_minutes
            ),
            ring_timeout_seconds=(
                settings.ring_timeout_seconds if settings else defaults.ring_timeout_seconds
            ),
            teleconference_numbers=frozenset(tele_numbers),
            org_teleconference_number=settings.teleconference_number if settings else None,
        )

    def is_open(self, at: datetime) -> bool:
        """``calendar.is_open(at)`` for an aware ``at``, the day's period worked out once."""
        day = self.calendar.local(at).date()
        try:
            period = self._periods[day]
        except KeyError:
            if len(self._periods) > 8:
                self._periods.clear()
            period = self._periods[day] = self.calendar.opening_period(day)
        return period is not None and period[0] <= at < period[1]

    def sla_deadline(self, start: datetime) -> datetime:
        return self.calendar.add_business_minutes(start, self.enquiry_sla_minutes)


class RoutingTableCache:
    """One snapshot per process, reloaded when the directory token changes.

    Teleconference numbers are time-dependent (a finished one drops out), so a snapshot is
    also refreshed after ``max_age`` even when the token did not change.
    """

    def __init__(self, defaults: Defaults | None = None, max_age: timedelta = timedelta(minutes=5)):
        self.defaults = defaults or Defaults()
        self.max_age = max_age
        self._snapshot: RoutingTable | None = None
        # Age on the process's monotonic clock: a cache lifetime, not a date.
        self._loaded_at = -math.inf
        self._lock = threading.Lock()
        self.loads = 0

    def peek(self) -> RoutingTable | None:
        """The cached snapshot without asking the database, unless it is too old.

        Only for callers that check the token afterwards (route_incoming_call does, with
        the token its INSERT returns).
        """
        if self._snapshot is not None and self._fresh(time.monotonic()):
            return self._snapshot
        return None

    def _fresh(self, tick: float) -> bool:
        return tick - self._loaded_at < self.max_age.total_seconds()

    def get(self, session: Session, version: str | None = None, *, now: datetime) -> RoutingTable:
        """The snapshot for the directory as ``session`` sees it now.

        One cheap read of the token, skipped when the caller already knows it.
        """
        if version is None:
            version = directory_version(session)
        snapshot = self._snapshot
        tick = time.monotonic()
        if snapshot is not None and snapshot.version == version:
            if self._fresh(tick):
                return snapshot
        with self._lock:
            # Calls that arrived together (a burst on a fresh worker) waited here while
            # the first of them loaded this version: one load, not one per call.
            snapshot = self._snapshot
            if snapshot is not None and snapshot.version == version:
                if self._fresh(time.monotonic()):
                    return snapshot
            snapshot = RoutingTable.load(session, version, self.defaults, now)
            self._snapshot, self._loaded_at = snapshot, tick
            self.loads += 1
        return snapshot
