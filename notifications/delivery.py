"""Sending what the outbox holds: claim due rows, send each once, record the outcome.

A row goes pending → sending (claimed, with a lease) → sent | pending again (retry
later) | failed. The claim is committed before the HTTP call and the provider's answer
right after it, so the window in which a crash could send an email twice is one HTTP
request long. A worker that dies mid-send leaves its rows "sending"; once the lease
expires another worker re-claims them (an email is never lost).

On PostgreSQL the claim is ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``,
so two workers never claim the same row; on SQLite the same conditional UPDATE is
atomic because SQLite has one writer at a time.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update

from models import Database, EmailStatus, OutboundEmail, utcnow

from .senders import Rejected, RetryLater, Sender, SendFailed

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=2)

Clock = Callable[[], datetime]


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    claimed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with full jitter in the upper half: 30 s, 1 min, 2 min … 2 h."""
    rng = rng or random
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(attempts - 1, 0)))
    return ceiling * (0.5 + rng.random() / 2)


def _due_condition(now: datetime):
    return and_(OutboundEmail.status == EmailStatus.PENDING, OutboundEmail.next_attempt_at <= now)


def release_expired_leases(db: Database, *, now: datetime) -> int:
    """Rows a dead worker left "sending" past their lease become pending again."""
    with db.Session.begin() as session:
        result = session.execute(
            update(OutboundEmail)
            .where(
                OutboundEmail.status == EmailStatus.SENDING,
                OutboundEmail.lease_until < now,
            )
            .values(status=EmailStatus.PENDING, lease_until=None)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount


def claim_due(
    db: Database, *, now: datetime, limit: int = 100, only_id: int | None = None
) -> list[OutboundEmail]:
    """Mark up to ``limit`` due rows as sending under a lease; returns them (detached).

    Only pending rows are claimed, oldest due first, through the (status, next_attempt_at)
    index; expired leases are released separately (see release_expired_leases).
    """
    due = select(OutboundEmail.id).where(_due_condition(now))
    if only_id is not None:
        due = due.where(OutboundEmail.id == only_id)
    due = due.order_by(OutboundEmail.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
    with db.Session.begin() as session:
        emails = session.scalars(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(due.scalar_subquery()), _due_condition(now))
            .values(
                status=EmailStatus.SENDING,
                lease_until=now + LEASE,
                attempts=OutboundEmail.attempts + 1,
            )
            .returning(OutboundEmail)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).all()
        session.expunge_all()  # plain values from here on: the HTTP call holds no session
    return sorted(emails, key=lambda e: e.id)


def deliver_claimed(
    db: Database,
    sender: Sender,
    email: OutboundEmail | int,
    *,
    clock: Clock = utcnow,
    rng: random.Random | None = None,
) -> str:
    """Send one claimed row and record what happened: "sent", "retry" or "failed"."""
    if isinstance(email, int):
        with db.Session() as session:
            loaded = session.get(OutboundEmail, email)
            if loaded is None or loaded.status != EmailStatus.SENDING:
                return "skipped"
            session.expunge(loaded)
        email = loaded
    email_id = email.id
    values: dict[str, object]
    outcome: str
    try:
        result = sender.send(email)
    except RetryLater as exc:
        now = clock()
        if email.attempts >= MAX_ATTEMPTS:
            outcome = "failed"
            values = {"status": EmailStatus.FAILED, "last_error": f"gave up: {exc.message}"}
        else:
            outcome = "retry"
            not_before = now + backoff(email.attempts, rng)
            if exc.not_before is not None and exc.not_before > not_before:
                not_before = exc.not_before
            values = {
                "status": EmailStatus.PENDING,
                "next_attempt_at": not_before,
                "last_error": exc.message,
            }
    except (Rejected, SendFailed) as exc:
        outcome = "failed"
        values = {"status": EmailStatus.FAILED, "last_error": exc.message}
    except Exception as exc:  # a bug or an unexpected library error: retry, keep the reason
        log.exception("sending email %s failed unexpectedly", email_id)
        outcome = "retry"
        values = {
            "status": EmailStatus.PENDING,
            "next_attempt_at": clock() + backoff(email.attempts, rng),
            "last_error": f"unexpected error: {exc.__class__.__name__}: {exc}"[:500],
        }
    else:
        outcome = "sent"
        values = {
            "status": EmailStatus.SENT,
            "provider_message_id": result.message_id,
            "sent_at": clock(),
            "last_error": None,
            "delivery_state": "accepted" if sender.name != "development" else "development",
        }
    values["lease_until"] = None
    with db.Session.begin() as session:
        session.execute(
            update(OutboundEmail)
            .where(OutboundEmail.id == email_id, OutboundEmail.status == EmailStatus.SENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return outcome


def dispatch_due(
    db: Database,
    sender: Sender,
    *,
    clock: Clock = utcnow,
    batch: int = 100,
    concurrency: int = 1,
    max_batches: int | None = None,
    rng: random.Random | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DispatchReport:
    """Send everything that is due now, batch by batch, until nothing due is left."""
    report = DispatchReport()
    release_expired_leases(db, now=clock())
    executor = ThreadPoolExecutor(concurrency) if concurrency > 1 else None
    try:
        batches = 0
        while max_batches is None or batches < max_batches:
            if should_stop is not None and should_stop():
                break
            claimed = claim_due(db, now=clock(), limit=batch)
            if not claimed:
                break
            batches += 1
            report.claimed += len(claimed)
            if executor is not None:
                outcomes = list(
                    executor.map(
                        lambda e: deliver_claimed(db, sender, e, clock=clock, rng=rng), claimed
                    )
                )
            else:
                outcomes = [deliver_claimed(db, sender, e, clock=clock, rng=rng) for e in claimed]
            for outcome in outcomes:
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "retry":
                    report.retried += 1
                elif outcome == "failed":
                    report.failed += 1
            if len(claimed) < batch:
                break
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    return report


def send_email_now(db: Database, sender: Sender, email_id: int, *, clock: Clock = utcnow) -> str:
    """Send one row if it is due (the scheduler's date job); anything else is left alone."""
    claimed = claim_due(db, now=clock(), limit=1, only_id=email_id)
    if not claimed:
        return "skipped"
    return deliver_claimed(db, sender, claimed[0], clock=clock)


def resend(db_session, email: OutboundEmail, *, now: datetime | None = None) -> None:
    """Put a failed email back in the queue (the console's resend button)."""
    if email.status != EmailStatus.FAILED:
        raise ValueError("only failed emails can be resent")
    email.status = EmailStatus.PENDING
    email.attempts = 0
    email.next_attempt_at = now or utcnow()
    email.scheduled_for = None
