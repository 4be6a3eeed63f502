"""The missed-enquiries queue: soonest SLA deadline first; claim, call back, resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from models import Enquiry, EnquiryStatus, Line, User, audit

from ..telephony import CallController
from .errors import AlreadyDisposed, EnquiryNotFound, NotClaimable


@dataclass(frozen=True)
class QueueEntry:
    enquiry: Enquiry
    seconds_left: int  # negative once the SLA is breached

    @property
    def breached(self) -> bool:
        return self.seconds_left < 0


@dataclass(frozen=True)
class QueueSummary:
    open: int  # open and claimed
    breached: int
    first_ids: list[int]  # the most urgent ones, in queue order


ACTIVE = (EnquiryStatus.OPEN, EnquiryStatus.CLAIMED)


def queue_summary(session: Session, *, now: datetime, first: int) -> QueueSummary:
    """How long the queue is and how much of it breached, counted by the database."""
    active = Enquiry.status.in_(ACTIVE)
    # Breached as QueueEntry counts it: at least a whole second past the deadline.
    late = Enquiry.sla_deadline <= now - timedelta(seconds=1)
    waiting, breached = session.execute(
        select(func.count(), func.coalesce(func.sum(case((late, 1), else_=0)), 0)).where(active)
    ).one()
    ids: list[int] = []
    if first > 0:
        ids = list(
            session.scalars(
                select(Enquiry.id)
                .where(active)
                .order_by(Enquiry.sla_deadline, Enquiry.id)
                .limit(first)
            )
        )
    return QueueSummary(int(waiting), int(breached), ids)


def enquiry_queue(
    session: Session,
    *,
    now: datetime,
    include_resolved: bool = False,
    limit: int | None = None,
) -> list[QueueEntry]:
    """Open and claimed enquiries, the most urgent (earliest deadline) first."""
    statuses = [EnquiryStatus.OPEN, EnquiryStatus.CLAIMED]
    if include_resolved:
        statuses.append(EnquiryStatus.RESOLVED)
    enquiries = session.scalars(
        select(Enquiry)
        .where(Enquiry.status.in_(statuses))
        .options(
            selectinload(Enquiry.customer),
            selectinload(Enquiry.owner),
            selectinload(Enquiry.line).selectinload(Line.salesperson),
        )
        .order_by(Enquiry.sla_deadline, Enquiry.id)
        .limit(limit)
    )
    return [
        QueueEntry(enquiry, int((enquiry.sla_deadline - now).total_seconds()))
        for enquiry in enquiries
    ]


def claim_enquiry(session: Session, enquiry_id: int, *, actor: User, now: datetime) -> Enquiry:
    """Make ``actor`` the owner; refused when another coordinator already claimed it."""
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise EnquiryNotFound("There is no such enquiry.")
    if enquiry.status is EnquiryStatus.RESOLVED:
        raise AlreadyDisposed("This enquiry is already resolved.")
    claimed = session.execute(
        update(Enquiry)
        .where(
            Enquiry.id == enquiry_id,
            Enquiry.status != EnquiryStatus.RESOLVED,
            or_(Enquiry.owner_id.is_(None), Enquiry.owner_id == actor.id),
        )
        .values(status=EnquiryStatus.CLAIMED, owner_id=actor.id, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(enquiry)
    if claimed.rowcount != 1:
        owner = enquiry.owner.name if enquiry.owner else "another coordinator"
        raise NotClaimable(f"{owner} has already claimed this enquiry.")
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="enquiry",
        entity_id=enquiry.id,
        action="claimed",
    )
    session.flush()
    return enquiry


def release_enquiry(session: Session, enquiry_id: int, *, actor: User) -> Enquiry:
    """Give a claimed enquiry back to the queue (its owner or an admin)."""
    enquiry = session.get(Enquiry, enquiry_id)
    if enquiry is None:
        raise EnquiryNotFound("There is no such enquiry.")
    if enquiry.status is not EnquiryStatus.CLAIMED:
        raise NotClaimable("Only a claimed enquiry can be released.")
    if enquiry.owner_id != actor.id and actor.role.value != "admin":
        raise NotClaimable("Only the coordinator who claimed it can release it.")
    enquiry.status = EnquiryStatus.OPEN
    enquiry.owner_id = None
    enquiry.claimed_at = None
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="enquiry",
        entity_id=enquiry.id,
        action="released",
    )
    session.flush()
    return enquiry


def place_callback(
    session: Session,
    enquiry_id: int,
    *,
    actor: User,
    controller: CallController,
    twiml_url: str,
    now: datetime,
) -> str:
    """Click-to-call: Twilio rings the coordinator, then (``twiml_url``) dials the customer.

    Claims the enquiry for her first. Returns the new call's SID.
    """
    enquiry = claim_enquiry(session, enquiry_id, actor=actor, now=now)
    if not enquiry.caller_number:
        raise NotClaimable("The caller's number was withheld: there is no number to call back.")
    if not actor.phone:
        raise NotClaimable("Your user has no phone number: ask an admin to add one.")
    line = session.get(Line, enquiry.line_id) if enquiry.line_id else None
    from_number = line.twilio_number if line else None
    if from_number is None:
        from_number = session.scalar(
            select(Line.twilio_number).where(Line.active.is_(True)).order_by(Line.id).limit(1)
        )
    if from_number is None:
        raise NotClaimable("No Twilio number is configured to call from.")
    sid = controller.place_call(to=actor.phone, from_=from_number, url=twiml_url)
    audit.record(
        session,
        actor=actor.email,
        actor_user_id=actor.id,
        entity_type="enquiry",
        entity_id=enquiry.id,
        action="callback_placed",
        details={"call_sid": sid, "to": actor.phone, "from": from_number},
    )
    session.flush()
    return sid
