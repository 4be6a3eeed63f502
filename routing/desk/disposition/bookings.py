"""The booking outcomes: an appointment in the salesperson's slot, or a teleconference."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import User

from ..booking import book_appointment, create_teleconference
from ..change_outcome import change_settings
from ..errors import InvalidDisposition
from .types import DeskSettings, Disposition, DispositionResult, OutcomeContext


def book_appointment_outcome(
    session: Session,
    ctx: OutcomeContext,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> None:
    """Book the slot she picked with the line's salesperson; the invite needs an email."""
    if ctx.salesperson is None:
        raise InvalidDisposition(
            {
                "slot_start": "This call came in on no salesperson's line: choose another "
                "outcome or book from the customer's page."
            }
        )
    assert ctx.customer is not None
    if not ctx.customer.email:
        raise InvalidDisposition({"caller_email": "The invite needs the caller's email."})
    appointment = book_appointment(
        session,
        salesperson=ctx.salesperson,
        customer=ctx.customer,
        start=disposition.slot_start,
        length_minutes=disposition.length_minutes,
        zone=settings.zone,
        actor=actor,
        mail_from=settings.mail_from,
        place=disposition.place,
        notes=disposition.notes,
        call_id=ctx.call.id if ctx.call else None,
        now=now,
        links=change_settings(settings).links,
    )
    result.appointment_id = appointment.id
    result.details = {
        "appointment_id": appointment.id,
        "salesperson_id": ctx.salesperson.id,
        "start": appointment.start_at.isoformat(),
    }


def book_teleconference_outcome(
    session: Session,
    ctx: OutcomeContext,
    disposition: Disposition,
    result: DispositionResult,
    actor: User,
    settings: DeskSettings,
    now: datetime,
) -> None:
    """A teleconference with a dial-in PIN for the caller and the participants she listed."""
    assert ctx.customer is not None
    conference = create_teleconference(
        session,
        title=disposition.conference_title
        or f"{ctx.customer.name} and {ctx.salesperson.name if ctx.salesperson else 'us'}",
        start=disposition.conference_start,
        length_minutes=disposition.conference_minutes,
        participants=disposition.participants,
        zone=settings.zone,
        actor=actor,
        mail_from=settings.mail_from,
        customer=ctx.customer,
        salesperson=ctx.salesperson,
        call_id=ctx.call.id if ctx.call else None,
        now=now,
        links=change_settings(settings).links,
    )
    result.teleconference_id = conference.id
    result.details = {"teleconference_id": conference.id, "pin": conference.pin}
