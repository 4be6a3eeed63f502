"""One handler per outcome; :func:`apply_outcome` picks the one the form chose."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from models import Outcome, User

from ..change_outcome import apply_change
from ..errors import InvalidDisposition
from .account_management import route_to_account_manager
from .bookings import book_appointment_outcome, book_teleconference_outcome
from .refund import refund_request
from .types import DeskSettings, Disposition, DispositionResult, OutcomeContext

# Outcomes that act for a known customer: the caller may not stay anonymous.
NEEDS_CUSTOMER = (
    Outcome.APPOINTMENT,
    Outcome.TELECONFERENCE,
    Outcome.REFUND_REQUEST,
    Outcome.APPOINTMENT_CHANGE,
)

Handler = Callable[
    [Session, OutcomeContext, Disposition, DispositionResult, User, DeskSettings, datetime], None
]

HANDLERS: dict[Outcome, Handler] = {
    Outcome.APPOINTMENT: book_appointment_outcome,
    Outcome.TELECONFERENCE: book_teleconference_outcome,
    Outcome.REFUND_REQUEST: refund_request,
    Outcome.APPOINTMENT_CHANGE: apply_change,
}


def apply_outcome(
    session: Session,
    ctx: OutcomeContext,
    disposition: Disposition,
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
    live_call: bool,
) -> DispositionResult:
    """Apply the disposition's outcome; general enquiries and wrong numbers only close."""
    result = DispositionResult(outcome=disposition.outcome, customer=ctx.customer)
    outcome = disposition.outcome
    if outcome in NEEDS_CUSTOMER and ctx.customer is None:
        raise InvalidDisposition(
            {
                "caller_declined": "This outcome needs the caller's details: "
                "untick “caller declined” and fill them in."
            }
        )
    if outcome is Outcome.ACCOUNT_MANAGEMENT:
        # The one outcome that may put the live call through (to the manager).
        route_to_account_manager(session, ctx, disposition, result, actor, settings, now, live_call)
    elif (handler := HANDLERS.get(outcome)) is not None:
        handler(session, ctx, disposition, result, actor, settings, now)
    return result
