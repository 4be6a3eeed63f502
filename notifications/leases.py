"""Leases on the emails a worker holds, and the delivery settings they follow.

A claim holds a row for ``lease``; while the worker lives, :class:`LeaseKeeper`'s
heartbeat renews the lease of every row it holds, and remembers a rate limit SendGrid
announced. The rules the leases keep are in notifications/delivery.py's docstring.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import tuple_, update
from sqlalchemy.exc import InterfaceError, OperationalError

from models import Database, EmailStatus, OutboundEmail, utcnow

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

# Errors that mean "the database is unreachable right now" (restart, failover, network).
DATABASE_GONE = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class DeliverySettings:
    """How long a claim holds a row and how retries back off (production defaults).

    The relationship that keeps PRODUCT.md §6's promises: ``lease - heartbeat`` exceeds
    the sender's longest request (connect + read timeout, with the read timeout above
    SendGrid's 30 s), and ``lease`` plus one sweep stays well under 60 s. The config
    checks it (``OUTBOX_LEASE_SECONDS`` …); the reliability suite shortens everything.
    """

    lease: timedelta = timedelta(seconds=45)
    heartbeat: timedelta = timedelta(seconds=5)
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=2)
    max_attempts: int = 8

    @classmethod
    def from_config(cls, config: Any) -> DeliverySettings:
        default = cls()
        return cls(
            lease=_seconds(config, "OUTBOX_LEASE_SECONDS", default.lease),
            heartbeat=_seconds(config, "OUTBOX_HEARTBEAT_SECONDS", default.heartbeat),
            backoff_base=_seconds(config, "OUTBOX_RETRY_BASE_SECONDS", default.backoff_base),
            backoff_cap=_seconds(config, "OUTBOX_RETRY_CAP_SECONDS", default.backoff_cap),
            max_attempts=int(getattr(config, "OUTBOX_MAX_ATTEMPTS", default.max_attempts)),
        )


def _seconds(config: Any, name: str, default: timedelta) -> timedelta:
    value = getattr(config, name, None)
    return default if value is None else timedelta(seconds=float(value))


DEFAULTS = DeliverySettings()
LEASE = DEFAULTS.lease
MAX_ATTEMPTS = DEFAULTS.max_attempts
BACKOFF_BASE = DEFAULTS.backoff_base
BACKOFF_CAP = DEFAULTS.backoff_cap


class LeaseKeeper:
    """The rows one worker holds, their leases kept alive by a heartbeat thread.

    Also remembers a rate limit SendGrid announced (429 with ``X-RateLimit-Reset``):
    until then this worker starts no request and claims nothing.
    """

    def __init__(self, db: Database, settings: DeliverySettings = DEFAULTS, clock: Clock = utcnow):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.rate_limited_until: datetime | None = None
        # id -> (attempts at our claim, lease end as we last wrote it)
        self._held: dict[int, tuple[int, datetime]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- what we hold -----------------------------------------------------------
    def hold(self, emails: Iterable[OutboundEmail]) -> None:
        with self._lock:
            for email in emails:
                assert email.lease_until is not None
                self._held[email.id] = (email.attempts, email.lease_until)
            start = self._thread is None and bool(self._held)
        if start:
            self._thread = threading.Thread(
                target=self._beat, name="outbox-lease-heartbeat", daemon=True
            )
            self._thread.start()

    def let_go(self, email_id: int) -> None:
        with self._lock:
            self._held.pop(email_id, None)

    def remaining(self, email_id: int, now: datetime) -> timedelta | None:
        """How long our lease on this row still runs; None when the row is no longer ours."""
        with self._lock:
            held = self._held.get(email_id)
        return None if held is None else held[1] - now

    def held_count(self) -> int:
        with self._lock:
            return len(self._held)

    # -- rate limit ---------------------------------------------------------------
    def rate_limited(self, now: datetime) -> datetime | None:
        until = self.rate_limited_until
        return until if until is not None and now < until else None

    def note_rate_limit(self, until: datetime) -> None:
        with self._lock:
            if self.rate_limited_until is None or until > self.rate_limited_until:
                self.rate_limited_until = until

    # -- heartbeat ------------------------------------------------------------------
    def renew(self) -> int:
        """Extend the lease of every row still ours; forget the ones that are not.

        Returns how many were renewed (-1 when the database could not be reached: the
        leases run on, and rows are not sent once theirs gets too short).
        """
        with self._lock:
            held = dict(self._held)
        if not held:
            return 0
        until = self.clock() + self.settings.lease
        renewed: set[int] = set()
        pairs = [(email_id, attempts) for email_id, (attempts, _) in held.items()]
        try:
            with self.db.Session.begin() as session:
                for start in range(0, len(pairs), 500):
                    chunk = pairs[start : start + 500]
                    renewed.update(
                        session.scalars(
                            update(OutboundEmail)
                            .where(
                                OutboundEmail.status == EmailStatus.SENDING,
                                tuple_(OutboundEmail.id, OutboundEmail.attempts).in_(chunk),
                            )
                            .values(lease_until=until)
                            .returning(OutboundEmail.id)
                            .execution_options(synchronize_session=False)
                        ).all()
                    )
        except DATABASE_GONE as exc:
            log.warning("could not renew the lease of %d held emails: %s", len(held), _short(exc))
            return -1
        with self._lock:
            for email_id in list(self._held):
                if email_id in renewed:
                    self._held[email_id] = (self._held[email_id][0], until)
                elif email_id in held:
                    # Recorded meanwhile, or our lease ran out and it was released or
                    # re-claimed: either way no longer ours to send.
                    del self._held[email_id]
        return len(renewed)

    def _beat(self) -> None:
        interval = self.settings.heartbeat.total_seconds()
        while not self._stop.wait(interval):
            if self.held_count():
                try:
                    self.renew()
                except Exception:  # never let the heartbeat thread die
                    log.exception("lease heartbeat failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None


def _short(exc: BaseException) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc) else repr(exc)
