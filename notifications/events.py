"""SendGrid's event webhook: delivery events matched to outbox rows, each stored once.

Events arrive in batches, repeated and out of order (SendGrid retries for a day), so:
an event is keyed by ``sg_event_id`` (a repeat is ignored), matched to its email by our
idempotency key in custom args (falling back to the message id), and the email's
delivery state only moves forward (a late "delivered" never hides a "bounce").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Customer, EmailEvent, Job, OutboundEmail

from .jobs import emails as job_emails
from .senders import IDEMPOTENCY_ARG

# How far along an email is; a state only gives way to one ranked at least as high.
STATE_RANK = {
    "processed": 1,
    "deferred": 2,
    "delivered": 3,
    "open": 4,
    "click": 5,
    "bounce": 6,
    "dropped": 6,
    "blocked": 6,
    "spamreport": 7,
    "unsubscribe": 7,
    "group_unsubscribe": 7,
}
UNDELIVERABLE = {"bounce", "dropped"}


class MalformedEvents(ValueError):
    """The batch is not what SendGrid sends; nothing of it was stored."""


@dataclass
class EventsReport:
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0


def validate_batch(batch: Any) -> list[dict[str, Any]]:
    """The batch as a list of events, or MalformedEvents saying which entry is wrong."""
    if not isinstance(batch, list):
        raise MalformedEvents("the body must be a JSON array of events")
    for index, event in enumerate(batch):
        if not isinstance(event, dict):
            raise MalformedEvents(f"event {index} is not an object")
        for name in ("sg_event_id", "event"):
            value = event.get(name)
            if not isinstance(value, str) or not value or len(value) > 100 or "\x00" in value:
                raise MalformedEvents(f"event {index} has no valid {name}")
        timestamp = event.get("timestamp")
        if timestamp is not None and (
            isinstance(timestamp, bool) or not isinstance(timestamp, int | float)
        ):
            raise MalformedEvents(f"event {index} has a timestamp that is not a number")
    return batch


def _event_time(event: dict[str, Any], now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(float(event["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return now


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    return value.replace("\x00", "")[:limit] or None


def _match(session: Session, event: dict[str, Any]) -> OutboundEmail | None:
    key = event.get(IDEMPOTENCY_ARG)
    if isinstance(key, str) and key:
        email = session.scalar(select(OutboundEmail).where(OutboundEmail.idempotency_key == key))
        if email is not None:
            return email
    message_id = event.get("sg_message_id")
    if isinstance(message_id, str) and message_id:
        # sg_message_id is the X-Message-Id we recorded, plus a ".filter…" suffix.
        prefix = message_id.split(".", 1)[0]
        return session.scalar(
            select(OutboundEmail)
            .where(OutboundEmail.provider_message_id.in_({prefix, message_id}))
            .limit(1)
        )
    return None


def record_events(
    session: Session, batch: Any, *, now: datetime, tz: ZoneInfo | None = None
) -> EventsReport:
    """Store a validated batch in the caller's transaction; the caller commits."""
    events = validate_batch(batch)
    tz = tz or ZoneInfo("UTC")
    report = EventsReport()
    seen: set[str] = set()
    for event in events:
        event_id = event["sg_event_id"]
        if event_id in seen or session.scalar(
            select(EmailEvent.id).where(EmailEvent.sg_event_id == event_id)
        ):
            report.duplicates += 1
            continue
        seen.add(event_id)
        email = _match(session, event)
        kind = event["event"]
        try:
            with session.begin_nested():
                session.add(
                    EmailEvent(
                        sg_event_id=event_id,
                        email_id=email.id if email else None,
                        event=kind[:30],
                        recipient=_text(event.get("email"), 254),
                        reason=_text(event.get("reason") or event.get("response"), 2000),
                        at=_event_time(event, now),
                        payload=event,
                    )
                )
        except IntegrityError:  # the same event arrived concurrently in another request
            report.duplicates += 1
            continue
        report.stored += 1
        if email is None:
            report.unmatched += 1
        else:
            _advance_state(email, kind)
        if kind in UNDELIVERABLE:
            _flag_undeliverable(session, email, event, tz, now)
    session.flush()
    return report


def _advance_state(email: OutboundEmail, kind: str) -> None:
    rank = STATE_RANK.get(kind)
    if rank is None:
        return
    current = STATE_RANK.get(email.delivery_state or "", 0)
    if rank >= current:
        email.delivery_state = kind


def _flag_undeliverable(
    session: Session,
    email: OutboundEmail | None,
    event: dict[str, Any],
    tz: ZoneInfo,
    now: datetime,
) -> None:
    """Mark the address undeliverable on every customer using it; tell the manager."""
    address = _text(event.get("email"), 254) or (email.to_email if email else None)
    if not address:
        return
    customers = session.scalars(
        select(Customer).where(func.lower(Customer.email) == address.lower())
    ).all()
    newly_flagged = [c for c in customers if not c.email_undeliverable]
    for customer in newly_flagged:
        customer.email_undeliverable = True
    if email is None or email.job_id is None or not newly_flagged:
        return
    job = session.get(Job, email.job_id)
    if job is not None and job.customer in newly_flagged:
        job_emails.undeliverable_alert(session, job, email, event["event"], tz, now)
