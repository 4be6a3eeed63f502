"""Sending what the outbox holds: claim due rows, send each once, record the outcome.

A row goes pending → sending (claimed, with a lease) → sent | pending again (retry
later) | failed. The claim is committed before the HTTP call and the provider's answer
right after it, so the window in which a crash could send an email twice is one HTTP
request long.

Leases (PRODUCT.md §6: held emails of a dead worker go out within 60 s; a slow answer of
up to 30 s is waited for, never sent again):

* a claim holds a row for ``lease`` (45 s), and while the worker lives a heartbeat
  renews the lease of every row it holds every ``heartbeat`` (5 s) — so a batch that
  waits behind slow answers is never taken over by another worker, however long it takes;
* a worker that dies stops renewing: its rows' leases run out at most 45 s later and the
  next sweep of any worker (every 2 s) sends them;
* a row is only sent while its lease still covers the longest possible request (connect +
  read timeout, 38 s): a worker that could not renew (its database connection gone) stops
  starting requests before another worker may take its rows over;
* the claim's ``attempts`` count is the row's fencing token: renewals and outcomes apply
  only while it is unchanged, so a worker never records over another's claim.

Duplicates are possible in one window only: a worker killed (or cut from the database for
longer than the lease) after SendGrid accepted an email and before the "sent" UPDATE
committed. A "sent" UPDATE that fails because the database went away is retried until it
lands, and it still applies to a row whose lease ran out as long as nobody re-claimed it.

On PostgreSQL the claim is ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``,
so two workers never claim the same row; on SQLite the same conditional UPDATE is
atomic because SQLite has one writer at a time.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update

from models import Database, EmailStatus, OutboundEmail, utcnow

from .leases import (
    DATABASE_GONE,
    DEFAULTS,
    LEASE,
    Clock,
    DeliverySettings,
    LeaseKeeper,
    _short,
)
from .senders import Rejected, RetryLater, Sender, SendFailed

log = logging.getLogger(__name__)


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    claimed: int = 0
    deferred: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(
    attempts: int, rng: random.Random | None = None, settings: DeliverySettings = DEFAULTS
) -> timedelta:
    """Exponential backoff with full jitter in the upper half: 30 s, 1 min, 2 min … 2 h."""
    rng = rng or random
    ceiling = min(settings.backoff_cap, settings.backoff_base * (2 ** max(attempts - 1, 0)))
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
    db: Database,
    *,
    now: datetime,
    limit: int = 100,
    only_id: int | None = None,
    lease: timedelta = LEASE,
) -> list[OutboundEmail]:
    """Mark up to ``limit`` due rows as sending under a lease; returns them (detached).

    Only pending rows are claimed, oldest due first, through the (status, next_attempt_at)
    index; expired leases are released separately (see release_expired_leases).
    """
    due = select(OutboundEmail.id).where(_due_condition(now))
    if only_id is not None:
        due = due.where(OutboundEmail.id == only_id)
    # A materialized CTE: PostgreSQL may run a LIMIT … SKIP LOCKED subquery inside IN (…)
    # more than once, and each run skips the rows the previous one locked — one claim of
    # 100 then took every due row (measured: 600 of 600).
    due = (
        due.order_by(OutboundEmail.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    with db.Session.begin() as session:
        emails = session.scalars(
            update(OutboundEmail)
            .where(OutboundEmail.id.in_(select(due.c.id)), _due_condition(now))
            .values(
                status=EmailStatus.SENDING,
                lease_until=now + lease,
                attempts=OutboundEmail.attempts + 1,
            )
            .returning(OutboundEmail)
            .execution_options(synchronize_session=False, populate_existing=True)
        ).all()
        session.expunge_all()  # plain values from here on: the HTTP call holds no session
    return sorted(emails, key=lambda e: e.id)


def _request_bound(sender: Sender) -> timedelta:
    """The longest one send can take (connect + read timeout); 0 for local backends."""
    return timedelta(seconds=float(getattr(sender, "max_request_seconds", 0.0)))


def deliver_claimed(
    db: Database,
    sender: Sender,
    email: OutboundEmail | int,
    *,
    clock: Clock = utcnow,
    rng: random.Random | None = None,
    settings: DeliverySettings = DEFAULTS,
    leases: LeaseKeeper | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> str:
    """Send one claimed row and record what happened.

    Returns "sent", "retry", "failed", "deferred" (not sent: rate limited, or our lease
    too short to cover a request; back to pending without using an attempt) or "lost"
    (another worker holds the row now).
    """
    if isinstance(email, int):
        with db.Session() as session:
            loaded = session.get(OutboundEmail, email)
            if loaded is None or loaded.status != EmailStatus.SENDING:
                return "skipped"
            session.expunge(loaded)
        email = loaded
    email_id = email.id
    now = clock()
    if leases is not None:
        remaining = leases.remaining(email_id, now)
        if remaining is None:
            return "lost"
        paused = leases.rate_limited(now)
        if paused is not None or remaining <= _request_bound(sender):
            # Not attempted: the row goes back to the queue without using an attempt.
            values: dict[str, object] = {
                "status": EmailStatus.PENDING,
                "attempts": email.attempts - 1,
                "next_attempt_at": paused or now,
            }
            _record(db, email, values, settings=settings, should_stop=should_stop, once=True)
            leases.let_go(email_id)
            return "deferred"
    outcome, values = _attempt(sender, email, clock, rng, settings, leases)
    if not _record(db, email, values, settings=settings, should_stop=should_stop):
        outcome = "lost"
    if leases is not None:
        leases.let_go(email_id)
    return outcome


def _attempt(
    sender: Sender,
    email: OutboundEmail,
    clock: Clock,
    rng: random.Random | None,
    settings: DeliverySettings,
    leases: LeaseKeeper | None,
) -> tuple[str, dict[str, object]]:
    """Hand the email to the sender once: the outcome and the row's new values."""
    values: dict[str, object]
    try:
        result = sender.send(email)
    except RetryLater as exc:
        now = clock()
        if exc.not_before is not None and leases is not None:
            leases.note_rate_limit(exc.not_before)
        if email.attempts >= settings.max_attempts:
            outcome = "failed"
            values = {"status": EmailStatus.FAILED, "last_error": f"gave up: {exc.message}"}
        else:
            outcome = "retry"
            not_before = now + backoff(email.attempts, rng, settings)
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
        log.exception("sending email %s failed unexpectedly", email.id)
        outcome = "retry"
        values = {
            "status": EmailStatus.PENDING,
            "next_attempt_at": clock() + backoff(email.attempts, rng, settings),
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
    return outcome, values


def _record(
    db: Database,
    email: OutboundEmail,
    values: dict[str, object],
    *,
    settings: DeliverySettings,
    should_stop: Callable[[], bool] | None,
    once: bool = False,
) -> bool:
    """Write a send's outcome on our claim of the row; True when it applied.

    Applies while the row's attempts are still those of our claim (nobody re-claimed it),
    even when our lease ran out meanwhile. A database that went away is waited for: the
    write is retried until it lands (SendGrid may have accepted the email: losing the
    outcome would send it again), or, once the worker is stopping, for one lease.
    """
    statement = (
        update(OutboundEmail)
        .where(
            OutboundEmail.id == email.id,
            OutboundEmail.attempts == email.attempts,
            OutboundEmail.status.in_((EmailStatus.SENDING, EmailStatus.PENDING)),
        )
        .values(lease_until=None, **values)
        .execution_options(synchronize_session=False)
    )
    delay = 0.1
    stopping_since: float | None = None
    while True:
        try:
            with db.Session.begin() as session:
                applied = session.execute(statement).rowcount == 1
            if not applied and values.get("status") == EmailStatus.SENT:
                log.warning(
                    "email %s was re-claimed by another worker before it was recorded as sent",
                    email.id,
                )
            return applied
        except DATABASE_GONE as exc:
            if once:
                return False
            if should_stop is not None and should_stop():
                stopping_since = stopping_since or time.monotonic()
                if time.monotonic() - stopping_since > settings.lease.total_seconds():
                    log.error("gave up recording email %s: %s", email.id, _short(exc))
                    return False
            log.warning("recording email %s failed, retrying: %s", email.id, _short(exc))
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


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
    settings: DeliverySettings = DEFAULTS,
    leases: LeaseKeeper | None = None,
) -> DispatchReport:
    """Send everything that is due now, batch by batch, until nothing due is left.

    With ``concurrency`` > 1 the sends are pipelined: a new batch is claimed as soon as a
    sender thread is free, so a slow answer holds one thread, never the whole worker.
    Expired leases (a dead worker's rows) are released before every claim, and looked for
    every second while slow requests are still out: they never wait behind a long batch.
    """
    report = DispatchReport()
    own_leases = leases is None
    keeper = leases if leases is not None else LeaseKeeper(db, settings, clock)

    def deliver(email: OutboundEmail) -> str:
        return deliver_claimed(
            db,
            sender,
            email,
            clock=clock,
            rng=rng,
            settings=settings,
            leases=keeper,
            should_stop=should_stop,
        )

    def may_claim(claims: int) -> bool:
        if should_stop is not None and should_stop():
            return False
        if keeper.rate_limited(clock()) is not None:
            return False
        return max_batches is None or claims < max_batches

    def claim() -> list[OutboundEmail]:
        release_expired_leases(db, now=clock())
        claimed = claim_due(db, now=clock(), limit=batch, lease=settings.lease)
        keeper.hold(claimed)
        report.claimed += len(claimed)
        return claimed

    try:
        if concurrency <= 1:
            claims = 0
            while may_claim(claims):
                claimed = claim()
                if not claimed:
                    break
                claims += 1
                for email in claimed:
                    _tally(report, deliver(email))
                if len(claimed) < batch:
                    break
        else:
            _pipelined(claim, may_claim, deliver, report, concurrency, batch)
    finally:
        if own_leases:
            keeper.close()
    return report


REPOLL_SECONDS = 1.0


def _pipelined(
    claim: Callable[[], list[OutboundEmail]],
    may_claim: Callable[[int], bool],
    deliver: Callable[[OutboundEmail], str],
    report: DispatchReport,
    concurrency: int,
    batch: int,
) -> None:
    outstanding: set[Future[str]] = set()
    claims = 0
    drained = False  # the last claim found fewer rows than it asked for
    last_claim = 0.0
    with ThreadPoolExecutor(concurrency, thread_name_prefix="outbox-send") as pool:
        try:
            while True:
                claiming = may_claim(claims)
                if claiming and len(outstanding) < concurrency:
                    if not drained or time.monotonic() - last_claim >= REPOLL_SECONDS:
                        claimed = claim()
                        last_claim = time.monotonic()
                        claims += 1 if claimed else 0
                        drained = len(claimed) < batch
                        outstanding.update(pool.submit(deliver, email) for email in claimed)
                if not outstanding:
                    if drained or not claiming:
                        return
                    continue
                done, outstanding = wait(
                    outstanding,
                    timeout=REPOLL_SECONDS if drained or not claiming else None,
                    return_when=FIRST_COMPLETED,
                )
                for future in done:
                    _tally(report, future.result())
        finally:
            for future in as_completed(outstanding):
                _tally(report, future.result())


def _tally(report: DispatchReport, outcome: str) -> None:
    if outcome == "sent":
        report.sent += 1
    elif outcome == "retry":
        report.retried += 1
    elif outcome == "failed":
        report.failed += 1
    elif outcome == "deferred":
        report.deferred += 1


def send_email_now(
    db: Database,
    sender: Sender,
    email_id: int,
    *,
    clock: Clock = utcnow,
    settings: DeliverySettings = DEFAULTS,
    leases: LeaseKeeper | None = None,
) -> str:
    """Send one row if it is due (the scheduler's date job); anything else is left alone."""
    if leases is not None and leases.rate_limited(clock()) is not None:
        return "skipped"  # the sweep sends it once the rate limit has passed
    claimed = claim_due(db, now=clock(), limit=1, only_id=email_id, lease=settings.lease)
    if not claimed:
        return "skipped"
    own_leases = leases is None
    keeper = leases if leases is not None else LeaseKeeper(db, settings, clock)
    keeper.hold(claimed)
    try:
        return deliver_claimed(
            db, sender, claimed[0], clock=clock, settings=settings, leases=keeper
        )
    finally:
        if own_leases:
            keeper.close()
