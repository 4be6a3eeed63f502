"""Closing a call or a missed enquiry: claim it once, resolve the caller, apply the outcome.

The call (or enquiry) is claimed with a conditional UPDATE first, so two coordinators
closing the same call at the same moment cannot both succeed: the second gets
``AlreadyDisposed`` and nothing of hers is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from models import Call, Customer, Enquiry, EnquiryStatus, Line, User, audit

from ..errors import AlreadyDisposed, CallNotFound, EnquiryNotFound
from .caller import resolve_caller, salesperson_for
from .calls import call_state, was_answered
from .form import parse_disposition
from .outcomes import apply_outcome
from .types import DeskSettings, Disposition, DispositionResult, OutcomeContext


def _closed_message(session: Session, by_id: int | None, at: datetime | None, what: str) -> str:
    who = session.get(User, by_id) if by_id else None
    when = f" at {at:%H:%M} UTC" if at else ""
    return f"This {what} was already closed by {who.name if who else 'someone'}{when}."


def dispose_call(
    session: Session,
    call_id: int,
    form: Mapping[str, Any],
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> DispositionResult:
    """End an answered call with one outcome. Nothing is committed here: the caller commits.

    Raises ``CallNotFound``, ``AlreadyDisposed`` (closed before, or by a coordinator who
    submitted a moment earlier), ``InvalidDisposition`` or ``SlotTaken``.
    """
    call = session.get(Call, call_id)
    if call is None:
        raise CallNotFound("There is no such call.")
    if call.disposed_at is not None:
        raise AlreadyDisposed(
            _closed_message(session, call.disposed_by_id, call.disposed_at, "call")
        )
    if not was_answered(call):
        raise AlreadyDisposed(
            "Nobody answered this call: it is followed up from the missed-enquiries queue."
        )
    disposition = parse_disposition(form, zone=settings.zone, region=settings.region)
    return _close(session, call, None, disposition, actor=actor, settings=settings, now=now)


def resolve_enquiry(
    session: Session,
    enquiry_id: int,
    form: Mapping[str, Any],
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> DispositionResult:
    """Resolve a missed enquiry with the same outcomes as an answered call."""
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise EnquiryNotFound("There is no such enquiry.")
    if enquiry.status is EnquiryStatus.RESOLVED:
        raise AlreadyDisposed(
            _closed_message(session, enquiry.resolved_by_id, enquiry.resolved_at, "enquiry")
        )
    disposition = parse_disposition(form, zone=settings.zone, region=settings.region)
    call = session.get(Call, enquiry.call_id) if enquiry.call_id else None
    return _close(session, call, enquiry, disposition, actor=actor, settings=settings, now=now)


def _claim_enquiry(
    session: Session, enquiry: Enquiry, disposition: Disposition, actor: User, now: datetime
) -> None:
    claimed = session.execute(
        update(Enquiry)
        .where(Enquiry.id == enquiry.id, Enquiry.status != EnquiryStatus.RESOLVED)
        .values(
            status=EnquiryStatus.RESOLVED,
            resolved_at=now,
            resolved_by_id=actor.id,
            outcome=disposition.outcome,
            owner_id=enquiry.owner_id or actor.id,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise AlreadyDisposed("Another coordinator has just resolved this enquiry.")
    session.refresh(enquiry)


def _claim_call(
    session: Session,
    call: Call,
    disposition: Disposition,
    actor: User,
    now: datetime,
    *,
    for_enquiry: bool,
) -> None:
    claimed = session.execute(
        update(Call)
        .where(Call.id == call.id, Call.disposed_at.is_(None))
        .values(
            outcome=disposition.outcome,
            disposed_at=now,
            disposed_by_id=actor.id,
            caller_declined=disposition.caller_declined,
            disposition_notes=disposition.notes,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1 and not for_enquiry:
        raise AlreadyDisposed("Another coordinator has just closed this call.")
    session.refresh(call)


def _context_for(
    session: Session,
    call: Call | None,
    enquiry: Enquiry | None,
    disposition: Disposition,
    actor: User,
) -> OutcomeContext:
    """The line the call came in on and the customer it is about, linked to both."""
    line = None
    if call is not None and call.line_id:
        line = session.get(Line, call.line_id)
    elif enquiry is not None and enquiry.line_id:
        line = session.get(Line, enquiry.line_id)
    known_id = (call.customer_id if call else None) or (enquiry.customer_id if enquiry else None)
    known = session.get(Customer, known_id) if known_id else None
    customer = resolve_caller(session, disposition, known=known, line=line, actor=actor)
    if call is not None and customer is not None and call.customer_id != customer.id:
        call.customer_id = customer.id
    if enquiry is not None and customer is not None:
        enquiry.customer_id = customer.id
    return OutcomeContext(
        call=call,
        enquiry=enquiry,
        line=line,
        salesperson=salesperson_for(session, line, customer),
        customer=customer,
    )


def _close(
    session: Session,
    call: Call | None,
    enquiry: Enquiry | None,
    disposition: Disposition,
    *,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> DispositionResult:
    # Claim first: a conditional UPDATE is atomic, and on PostgreSQL a concurrent one waits
    # for ours and then matches no row. Everything below rolls back with it on error.
    if enquiry is not None:
        _claim_enquiry(session, enquiry, disposition, actor, now)
    if call is not None and call.disposed_at is None:
        _claim_call(session, call, disposition, actor, now, for_enquiry=enquiry is not None)
    ctx = _context_for(session, call, enquiry, disposition, actor)
    customer = ctx.customer
    live = call is not None and enquiry is None and call_state(call) == "in progress"
    result = apply_outcome(
        session, ctx, disposition, actor=actor, settings=settings, now=now, live_call=live
    )
    result.customer = customer
    details = {
        **result.details,
        "outcome": disposition.outcome.value,
        "caller_declined": disposition.caller_declined,
        "customer_id": customer.id if customer else None,
    }
    if call is not None and call.disposed_by_id == actor.id:
        call.disposition_details = details
    if enquiry is not None and disposition.notes:
        enquiry.notes = "\n".join(filter(None, [enquiry.notes, disposition.notes]))
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="enquiry" if enquiry is not None else "call",
        entity_id=enquiry.id if enquiry is not None else call.id,
        action="disposed",
        details=details,
    )
    session.flush()
    return result
