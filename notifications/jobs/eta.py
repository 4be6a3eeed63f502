"""ETAs and their policy.

An ETA is a whole day or an instant, parsed from ISO 8601 and shown in the organisation's
zone. It is at risk within one business day of its deadline and overdue once the deadline
has passed: the "at risk" and "passed" emails, the console's job lists and the account
manager's day all read these rules here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from models import Job
from models.hours import BusinessCalendar

# Far enough for any real delivery, and safely inside what datetimes and time zones handle.
MIN_YEAR, MAX_YEAR = 1970, 2999


class InvalidEta(ValueError):
    """An ETA that is not an ISO 8601 date or datetime; the message says why."""


@dataclass(frozen=True)
class Eta:
    """Exactly one of ``day`` (a calendar date) or ``at`` (an aware UTC instant)."""

    day: date | None = None
    at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.day is None) == (self.at is None):
            raise InvalidEta("an ETA is either a date or a datetime")
        if self.at is not None and self.at.tzinfo is None:
            raise InvalidEta("an ETA instant must carry a time zone")

    @classmethod
    def of_job(cls, job: Job) -> Eta:
        return cls(day=job.eta_date, at=job.eta_at)

    def apply_to(self, job: Job) -> None:
        job.eta_date = self.day
        job.eta_at = self.at.astimezone(UTC) if self.at else None

    def iso(self) -> str:
        """Stable text form (dates as YYYY-MM-DD, instants in UTC) for storage and JSON."""
        if self.day is not None:
            return self.day.isoformat()
        assert self.at is not None
        return self.at.astimezone(UTC).isoformat()

    @classmethod
    def from_iso(cls, raw: str) -> Eta:
        return parse_eta(raw, ZoneInfo("UTC"))

    def deadline(self, tz: ZoneInfo) -> datetime:
        """The instant the ETA has passed: the instant itself, or the end of the day."""
        if self.at is not None:
            return self.at.astimezone(UTC)
        assert self.day is not None
        midnight = datetime.combine(self.day + timedelta(days=1), time(0), tzinfo=tz)
        return midnight.astimezone(UTC)

    def describe(self, tz: ZoneInfo) -> str:
        """How people read it: "Friday 4 December 2026" or "… at 14:30 CET"."""
        if self.day is not None:
            return f"{self.day:%A} {self.day.day} {self.day:%B %Y}"
        assert self.at is not None
        local = self.at.astimezone(tz)
        return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} {local.tzname()}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Eta):
            return NotImplemented
        return self.iso() == other.iso()

    def __hash__(self) -> int:
        return hash(self.iso())


def parse_eta(raw: object, tz: ZoneInfo) -> Eta:
    """An ETA from ISO 8601 text; a datetime without offset is in the organisation's zone."""
    if isinstance(raw, Eta):
        return raw
    if not isinstance(raw, str):
        raise InvalidEta("the ETA must be an ISO 8601 date or datetime string")
    text = raw.strip()
    if not text or len(text) > 40:
        raise InvalidEta("the ETA must be an ISO 8601 date (2026-12-04) or datetime")
    if len(text) == 10 and "T" not in text and " " not in text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise InvalidEta(f"{text!r} is not a valid date (YYYY-MM-DD)") from None
        if not MIN_YEAR <= day.year <= MAX_YEAR:
            raise InvalidEta(f"the ETA must be between the years {MIN_YEAR} and {MAX_YEAR}")
        return Eta(day=day)
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEta(
            f"{text!r} is not an ISO 8601 date (2026-12-04) or datetime (2026-12-04T14:30)"
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=tz)
    if not MIN_YEAR <= instant.year <= MAX_YEAR:
        raise InvalidEta(f"the ETA must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return Eta(at=instant.astimezone(UTC))


def at_risk_time(session: Session, eta: Eta, tz: ZoneInfo) -> datetime:
    """One business day before the ETA, at the same local time (start of day for dates)."""
    return warning_time(BusinessCalendar.load(session, tz.key), eta)


def warning_time(calendar: BusinessCalendar, eta: Eta) -> datetime:
    tz = calendar.timezone
    if eta.day is not None:
        day = calendar.previous_business_day(eta.day)
        return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    assert eta.at is not None
    local = eta.at.astimezone(tz)
    day = calendar.previous_business_day(local.date())
    return datetime.combine(day, local.time(), tzinfo=tz).astimezone(UTC)


def eta_state(calendar: BusinessCalendar, job: Job, now: datetime) -> str:
    """ "overdue", "at-risk" (within a business day of the ETA) or "on-track"; "" when done."""
    if job.delivered_at is not None or job.status.value in ("delivered", "cancelled"):
        return ""
    eta = Eta.of_job(job)
    if now >= eta.deadline(calendar.timezone):
        return "overdue"
    if now >= warning_time(calendar, eta):
        return "at-risk"
    return "on-track"
