"""Login throttling (PRODUCT.md §4, fixed), kept in the database.

After ``EMAIL_LIMIT`` failed logins for one email within ``WINDOW``, every attempt for that
email is refused for ``LOCKOUT`` from the failure that reached the limit, even with the
right password. An email nobody logs in with is throttled exactly like a real one, so the
refusal says nothing about which emails exist. One client address is held to
``ADDRESS_LIMIT`` failures over all emails in the same way, so it cannot try a few
passwords on each of many emails.

The failures live in a table every web process shares (SQLite or PostgreSQL alike); the
clock is an argument. Refused attempts are not failures: they never check a password,
so they neither extend the lockout nor tell anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import LoginFailure

EMAIL_LIMIT = 10
ADDRESS_LIMIT = 50
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)
# Failures older than this can no longer lock anything (WINDOW + LOCKOUT) and are pruned.
KEEP = WINDOW + LOCKOUT
EMAIL_LENGTH = 254
ADDRESS_LENGTH = 64


@dataclass(frozen=True)
class Lockout:
    """Why and until when login attempts are refused."""

    scope: str  # "email" or "address"
    until: datetime

    def minutes_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds() / 60))

    def seconds_left(self, now: datetime) -> int:
        return max(1, math.ceil((self.until - now).total_seconds()))


def email_key(email: str) -> str:
    """The email as the throttle counts it: trimmed, lowercased, at most one column long."""
    return email.strip().lower()[:EMAIL_LENGTH]


def address_key(address: str | None) -> str:
    return (address or "unknown")[:ADDRESS_LENGTH]


def _locked_until(times: list[datetime], limit: int) -> datetime | None:
    """The end of the latest lockout in ``times`` (ascending): ``limit`` failures within
    WINDOW lock for LOCKOUT from the last of them."""
    until = None
    for last in range(limit - 1, len(times)):
        if times[last] - times[last - limit + 1] < WINDOW:
            until = times[last] + LOCKOUT
    return until


def _failure_times(session: Session, column, value: str, now: datetime) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at > now - KEEP, LoginFailure.at <= now)
            .order_by(LoginFailure.at)
        )
    )


def lockout(session: Session, *, email: str, address: str | None, now: datetime) -> Lockout | None:
    """The lockout in force for this email or client address at ``now``, if any."""
    checks = (
        ("email", LoginFailure.email, email_key(email), EMAIL_LIMIT),
        ("address", LoginFailure.address, address_key(address), ADDRESS_LIMIT),
    )
    for scope, column, value, limit in checks:
        until = _locked_until(_failure_times(session, column, value, now), limit)
        if until is not None and now < until:
            return Lockout(scope, until)
    return None


def record_failure(session: Session, *, email: str, address: str | None, now: datetime) -> None:
    """Count one failed login; failures too old to matter are pruned on the way."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - KEEP))
    session.add(LoginFailure(email=email_key(email), address=address_key(address), at=now))
    session.flush()


def forget_failures(session: Session, *, email: str) -> None:
    """A successful login starts the email's count afresh."""
    session.execute(delete(LoginFailure).where(LoginFailure.email == email_key(email)))
