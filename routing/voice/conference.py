"""Teleconference dial-in: a PIN joins the caller to the right <Conference> room."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Teleconference

# Callers may join this long before the start (people dial in early).
EARLY_JOIN = timedelta(minutes=15)
MAX_PIN_ATTEMPTS = 3


@dataclass(frozen=True)
class PinResult:
    room: str | None
    title: str | None = None
    attempts_left: int = 0


def check_pin(
    session: Session,
    *,
    pin: str,
    dialled_number: str,
    org_number: str | None,
    attempt: int,
    now: datetime,
) -> PinResult:
    """The room for ``pin`` if it belongs to a teleconference starting within 15 minutes
    or in progress, reachable on the number the caller dialled."""
    pin = "".join(ch for ch in pin if ch.isdigit())
    if pin:
        query = (
            select(Teleconference)
            .where(
                # Only an active conference holds its PIN (cancelled or over: NULL).
                Teleconference.active_pin == pin,
                Teleconference.start_at <= now + EARLY_JOIN,
                Teleconference.end_at > now,
            )
            .order_by(Teleconference.start_at)
        )
        if dialled_number != org_number:
            query = query.where(Teleconference.dial_in_number == dialled_number)
        found = session.scalars(query).first()
        if found is not None:
            return PinResult(found.room, found.title)
    return PinResult(None, attempts_left=max(0, MAX_PIN_ATTEMPTS - attempt))
