"""The call log: every call, filtered and paged by keyset, and each call's timeline.

Pages are cut by ``(started_at, id)`` (newest first) instead of OFFSET, so the hundredth
page costs what the first does on a million calls; each filter has an index that starts
with its column and ends with ``started_at`` (migration 0004).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, joinedload

from models import Call, CallResult, Customer, Outcome, User
from models.contact import InvalidContact, normalise_phone

PAGE_SIZE = 50
RESULT_PREFIX = "result:"


class InvalidCallFilter(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class CallFilter:
    line_id: int | None = None
    caller: str = ""  # a phone number (any format) or part of the customer's name
    coordinator_id: int | None = None
    outcome: str = ""  # an Outcome value, or "result:<CallResult>"
    date_from: date | None = None  # local dates in the organisation's zone, inclusive
    date_to: date | None = None

    def query_args(self) -> dict[str, str]:
        """The filter as the page's query string (for the next-page link)."""
        args = {
            "line": str(self.line_id) if self.line_id else "",
            "caller": self.caller,
            "coordinator": str(self.coordinator_id) if self.coordinator_id else "",
            "outcome": self.outcome,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in args.items() if v}


def _int(raw: str, name: str, label: str) -> int | None:
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidCallFilter(name, f"Choose a {label} from the list.")
    return int(raw)


def _date(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidCallFilter(name, "Enter a date as YYYY-MM-DD.") from None


OUTCOME_CHOICES = tuple(o.value for o in Outcome) + tuple(
    RESULT_PREFIX + r.value for r in CallResult
)


def parse_call_filter(args: dict[str, str]) -> CallFilter:
    """The page's query string, checked; a bad value raises InvalidCallFilter."""
    get = lambda name: (args.get(name) or "").strip()  # noqa: E731 - a local shorthand
    outcome = get("outcome")
    if outcome and outcome not in OUTCOME_CHOICES:
        raise InvalidCallFilter("outcome", "Choose an outcome from the list.")
    found = CallFilter(
        line_id=_int(get("line"), "line", "line"),
        caller=get("caller")[:100],
        coordinator_id=_int(get("coordinator"), "coordinator", "coordinator"),
        outcome=outcome,
        date_from=_date(get("from"), "from"),
        date_to=_date(get("to"), "to"),
    )
    if found.date_from and found.date_to and found.date_from > found.date_to:
        raise InvalidCallFilter("to", "The end date is before the start date.")
    return found


def encode_cursor(call: Call) -> str:
    raw = f"{call.started_at.astimezone(UTC).isoformat()}|{call.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, call_id = raw.split("|")
        at = datetime.fromisoformat(stamp)
        if at.tzinfo is None:
            raise ValueError
        return at.astimezone(UTC), int(call_id)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidCallFilter("cursor", "That page link is not valid: start again.") from None


def _local_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _conditions(found: CallFilter, zone: ZoneInfo, region: str) -> list:
    conditions = []
    if found.line_id:
        conditions.append(Call.line_id == found.line_id)
    if found.coordinator_id:
        conditions.append(Call.answered_by_id == found.coordinator_id)
    if found.outcome.startswith(RESULT_PREFIX):
        conditions.append(Call.result == found.outcome.removeprefix(RESULT_PREFIX))
    elif found.outcome:
        conditions.append(Call.outcome == Outcome(found.outcome))
    if found.date_from:
        conditions.append(Call.started_at >= _local_start(found.date_from, zone))
    if found.date_to:
        conditions.append(Call.started_at < _local_start(found.date_to + timedelta(1), zone))
    if found.caller:
        conditions.append(_caller_condition(found.caller, region))
    return conditions


def _caller_condition(caller: str, region: str):
    digits = sum(ch.isdigit() for ch in caller)
    if digits >= 5:
        try:
            return Call.caller_number == normalise_phone(caller, region)
        except InvalidContact:
            # Not a number we can normalise: match it as stored (indexed column only).
            return Call.caller_number == "+" + "".join(ch for ch in caller if ch.isdigit())
    like = f"%{caller.lower()}%"
    named = select(Customer.id).where(func.lower(Customer.name).like(like))
    return Call.customer_id.in_(named)


@dataclass
class CallPage:
    calls: list[Call]
    next_cursor: str | None


def search_calls(
    session: Session,
    found: CallFilter,
    *,
    zone: ZoneInfo,
    region: str,
    cursor: str = "",
    limit: int = PAGE_SIZE,
) -> CallPage:
    """One page of calls matching ``found``, newest first, after ``cursor``."""
    stmt = select(Call).where(*_conditions(found, zone, region))
    if cursor:
        at, call_id = decode_cursor(cursor)
        # A row comparison, so PostgreSQL reads it as an index condition, not a filter.
        stmt = stmt.where(tuple_(Call.started_at, Call.id) < tuple_(at, call_id))
    rows = list(
        session.scalars(
            stmt.options(
                joinedload(Call.customer), joinedload(Call.line), joinedload(Call.answered_by)
            )
            .order_by(Call.started_at.desc(), Call.id.desc())
            .limit(limit + 1)
        ).unique()
    )
    more = len(rows) > limit
    calls = rows[:limit]
    return CallPage(calls, encode_cursor(calls[-1]) if more and calls else None)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    detail: str = ""
    offset_seconds: int = 0
    link: str | None = None


_STATUS_LABELS = {
    "queued": "Queued",
    "initiated": "Call started",
    "ringing": "Ringing the coordinator team",
    "in-progress": "In progress",
    "completed": "Completed",
    "busy": "Busy",
    "no-answer": "Not answered",
    "canceled": "Canceled",
    "failed": "Failed",
    "answered": "Answered",
    "whisper-declined": "Declined after the whisper",
    "transfer-ringing": "Transfer: ringing",
    "transfer-answered": "Transfer: taken",
    "transfer-declined": "Transfer: declined",
    "transfer-completed": "Transfer: connected",
    "transfer-missed": "Transfer: not taken",
    "transfer-voicemail": "Voicemail for the account manager",
}


def _seconds(value: object) -> str:
    try:
        total = int(str(value))
    except (TypeError, ValueError):
        return ""
    minutes, secs = divmod(total, 60)
    return f"{minutes}:{secs:02d}"


@dataclass
class CallTimeline:
    call: Call
    entries: list[TimelineEntry] = field(default_factory=list)
    durations: dict[str, str] = field(default_factory=dict)


def call_timeline(session: Session, call: Call) -> CallTimeline:
    """The call's stored events as people read them, with who and how long."""
    user_ids = set()
    for event in call.events:
        for key in ("coordinator_id", "user_id"):
            if str(event.payload.get(key) or "").isdigit():
                user_ids.add(int(event.payload[key]))
    if call.answered_by_id:
        user_ids.add(call.answered_by_id)
    names = (
        dict(session.execute(select(User.id, User.name).where(User.id.in_(user_ids))).all())
        if user_ids
        else {}
    )
    timeline = CallTimeline(call)
    # The call's own facts first, so "came in" leads a callback stamped the same instant.
    entries = _from_the_call(call, {event.status for event in call.events}, names)
    entries += [_entry(call, event, names) for event in sorted(call.events, key=lambda e: e.id)]
    timeline.entries = sorted(entries, key=lambda e: e.at)
    if call.recording_url and not any(e.link for e in timeline.entries):
        timeline.entries.append(
            TimelineEntry(call.ended_at or call.started_at, "Voicemail", link=call.recording_url)
        )
    for label, value in (
        ("Ringing", call.ring_seconds),
        ("Talking", call.talk_seconds),
        ("Whole call", call.duration_seconds),
    ):
        if value is not None:
            timeline.durations[label] = _seconds(value)
    return timeline


def _offset(call: Call, at: datetime) -> int:
    return max(0, round((at - call.started_at).total_seconds()))


def _from_the_call(call: Call, seen: set[str], names: dict[int, str]) -> list[TimelineEntry]:
    """What the call row itself knows, for the steps no status callback recorded."""
    entries = [TimelineEntry(call.started_at, "Call came in", _line_text(call), 0)]
    if call.answered_at and "answered" not in seen:
        who = names.get(call.answered_by_id or 0)
        entries.append(
            TimelineEntry(
                call.answered_at,
                "Answered",
                f"by {who}" if who else "",
                _offset(call, call.answered_at),
            )
        )
    if call.ended_at and not seen & _FINAL:
        entries.append(
            TimelineEntry(call.ended_at, "Ended", call.result or "", _offset(call, call.ended_at))
        )
    return entries


def _line_text(call: Call) -> str:
    if call.line is not None:
        return f"on {call.line.salesperson.name}'s line"
    return f"on {call.to_number} (not a line)"


_FINAL = {"completed", "busy", "no-answer", "canceled", "failed"}


def _entry(call: Call, event, names: dict[int, str]) -> TimelineEntry:
    payload = event.payload or {}
    who_id = payload.get("user_id") or payload.get("coordinator_id")
    who = names.get(int(who_id)) if str(who_id or "").isdigit() else None
    label = _STATUS_LABELS.get(event.status, event.status)
    details = []
    if who:
        details.append(("by " if event.status in ("answered", "transfer-answered") else "") + who)
    if payload.get("mode"):
        details.append(f"{payload['mode']} transfer")
    if payload.get("dial_status"):
        details.append(f"Twilio: {payload['dial_status']}")
    for key in ("CallDuration", "seconds"):
        if payload.get(key) not in (None, ""):
            details.append(f"{_seconds(payload[key])} long")
    return TimelineEntry(
        event.at,
        label,
        " · ".join(details),
        _offset(call, event.at),
        link=payload.get("recording_url") or payload.get("RecordingUrl"),
    )
