"""The period a report covers: whole local days, cut into days or weeks (pure, no database)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DAYS = 366


class InvalidPeriod(ValueError):
    """The requested report period cannot be shown; the message says why."""


class Granularity(enum.StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday, in the organisation's zone


@dataclass(frozen=True)
class Period:
    """Whole local days ``first`` to ``last`` (inclusive) as a UTC half-open range.

    ``start`` and ``end`` are the local midnights, so a day that changes to or from summer
    time is 23 or 25 hours long, as the people in that zone lived it.
    """

    first: date
    last: date
    start: datetime
    end: datetime
    timezone: ZoneInfo
    granularity: Granularity = Granularity.DAY

    @classmethod
    def of_days(
        cls,
        timezone: ZoneInfo,
        first: date,
        last: date,
        granularity: Granularity = Granularity.DAY,
    ) -> Period:
        if last < first:
            raise InvalidPeriod("the period ends before it starts")
        if (last - first).days >= MAX_DAYS:
            raise InvalidPeriod("a report covers at most one year (366 days)")
        if first.year < 1970 or last.year > 2999:
            raise InvalidPeriod("a report covers dates from 1970 to 2999")
        return cls(
            first,
            last,
            local_midnight(first, timezone),
            local_midnight(last + timedelta(days=1), timezone),
            timezone,
            granularity,
        )

    def bucket_of(self, day: date) -> date:
        """The first day of the bucket ``day`` falls in (itself, or its week's Monday)."""
        if self.granularity is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day

    def buckets(self) -> list[date]:
        """Every bucket of the period in order, empty ones included."""
        out: list[date] = []
        day = self.bucket_of(self.first)
        step = timedelta(days=7 if self.granularity is Granularity.WEEK else 1)
        while day <= self.last:
            out.append(day)
            day += step
        return out

    def label(self, bucket: date) -> str:
        if self.granularity is Granularity.WEEK:
            return f"week of {bucket.isoformat()}"
        return bucket.isoformat()


def local_midnight(day: date, timezone: ZoneInfo) -> datetime:
    """The UTC instant a local day begins."""
    return datetime.combine(day, time(0), tzinfo=timezone).astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """What the page is narrowed to; each section says which of these apply to it."""

    line_id: int | None = None
    coordinator_id: int | None = None
    manager_id: int | None = None

    def query_args(self) -> dict[str, str]:
        out = {}
        if self.line_id:
            out["line"] = str(self.line_id)
        if self.coordinator_id:
            out["coordinator"] = str(self.coordinator_id)
        if self.manager_id:
            out["manager"] = str(self.manager_id)
        return out
