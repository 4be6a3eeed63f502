"""Call routing decisions and the call record: plain services taking a Session.

Views parse Twilio's form, call one function here, and render the returned decision as
TwiML (routing/voice/twiml.py). Every function is idempotent by CallSid: Twilio retries
webhooks and repeats status callbacks, and a repeat must change nothing.

The services only flush: the webhook commits once, when its answer is ready
(``safety.never_fail``), so a failure leaves nothing half-written. They take ``now`` from
the webhook (one instant per request) and never read the clock. The new call's write is
the exception: one autocommit statement on the incoming-call fast path (incoming.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BindParameter, bindparam, select, text
from sqlalchemy.orm import Session, object_session

from models import (
    Call,
    CallEvent,
    CallResult,
    CallStatus,
    Customer,
    Enquiry,
    EnquiryKind,
)
from models.contact import try_normalise_phone
from models.db import StatementConnection

from .routing_table import Coordinator, RoutingTable

log = logging.getLogger(__name__)

FINAL_STATUSES = frozenset(
    {
        CallStatus.COMPLETED,
        CallStatus.BUSY,
        CallStatus.NO_ANSWER,
        CallStatus.CANCELED,
        CallStatus.FAILED,
    }
)
# Order of a call's life; a callback never moves a call backwards along it.
_STATUS_RANK = {
    CallStatus.QUEUED: 0,
    CallStatus.RINGING: 1,
    CallStatus.IN_PROGRESS: 2,
    **{status: 3 for status in FINAL_STATUSES},
}
# DialCallStatus values (Twilio <Dial> docs): completed, answered, busy, no-answer,
# failed, canceled. "completed"/"answered" only mean that some leg picked up, which may
# have been a coordinator's own voicemail: only a pressed 1 counts as taken.
DIAL_PICKED_UP = frozenset({"completed", "answered"})


@dataclass(frozen=True)
class IncomingDecision:
    """What the caller hears first."""

    action: str  # "ring", "voicemail" or "teleconference"
    call_sid: str
    salesperson_name: str | None = None
    coordinators: tuple[Coordinator, ...] = ()
    ring_timeout: int = 20
    caller_id: str | None = None
    within_hours: bool = True


@dataclass(frozen=True)
class DialDecision:
    """What happens after the coordinators' <Dial> ends."""

    action: str  # "hangup" (taken or caller gone), "ring_again" or "voicemail"
    call_sid: str
    salesperson_name: str | None = None
    coordinators: tuple[Coordinator, ...] = ()
    ring_timeout: int = 20
    caller_id: str | None = None


@dataclass
class CallParams:
    """The Twilio form fields the call path reads."""

    call_sid: str
    to_number: str = ""
    from_number: str = ""
    forwarded_from: str | None = None
    call_status: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> CallParams:
        return cls(
            call_sid=(form.get("CallSid") or "").strip(),
            to_number=(form.get("To") or "").strip(),
            from_number=(form.get("From") or "").strip(),
            forwarded_from=(form.get("ForwardedFrom") or "").strip() or None,
            call_status=form.get("CallStatus"),
            extra=dict(form.items()),
        )


class MissingCallSid(ValueError):
    """Twilio always sends CallSid; a request without it is not a call."""


def _call_by_sid(session: Session, call_sid: str) -> Call | None:
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


_E164 = re.compile(r"\+[1-9]\d{3,14}")
# What Twilio sends in ``From`` when the caller's number is hidden: "anonymous", or
# these numbers spelling ANONYMOUS, RESTRICTED, BLOCKED, UNAVAILABLE, UNKNOWN on a keypad.
WITHHELD_CALLERS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})


def normalise_dialled(raw: str, region: str) -> str:
    """The number Twilio says was dialled (already E.164 from Twilio; fixed up otherwise)."""
    if _E164.fullmatch(raw):
        return raw
    return try_normalise_phone(raw, region) or raw


def normalise_caller(raw: str, region: str) -> str | None:
    """The caller's E.164 number, or None when withheld, anonymous or malformed."""
    if raw in WITHHELD_CALLERS:
        return None
    if _E164.fullmatch(raw):
        return raw
    return try_normalise_phone(raw, region)


def route_incoming_call(
    connection: StatementConnection,
    snapshot: RoutingTable,
    params: CallParams,
    *,
    now: datetime,
    region: str = "US",
    refresh: Callable[[str | None], RoutingTable] | None = None,
) -> IncomingDecision:
    """Record the call (once per CallSid) and decide: ring coordinators, voicemail, PIN.

    The hot path is one statement: INSERT ... ON CONFLICT DO NOTHING, with the caller's
    customer found by a subquery and the current directory token returned with the new
    row. ``snapshot`` may be the one cached from the previous call: when the returned
    token shows the directory changed since, ``refresh(token)`` gives the current
    snapshot, the row is corrected and the decision uses it, so an edit is seen by the
    very next call without a separate token read. A retried webhook finds its call
    already stored and gets the same answer.
    """
    if not params.call_sid:
        raise MissingCallSid("CallSid is required")
    to_number = normalise_dialled(params.to_number, region)
    caller = normalise_caller(params.from_number, region)
    routing = _routing_values(snapshot, to_number, now)
    inserted = connection.fetch_one(
        _INSERT_CALL,
        {
            "call_sid": params.call_sid,
            "to_number": to_number[:32],
            "from_number": params.from_number[:64],
            "forwarded_from": (params.forwarded_from or None) and params.forwarded_from[:32],
            "caller_number": caller,
            "status": _known_status(params.call_status) or CallStatus.RINGING.value,
            "started_at": now,
            # NULL matches no customer: withheld callers get none.
            "caller": caller,
            **routing,
        },
    )
    if inserted is None:
        if refresh is not None:
            snapshot = refresh(None)
        row = connection.fetch_one(_STORED_CALL, {"call_sid": params.call_sid})
        if row is None:  # pragma: no cover - the conflicting row cannot vanish
            raise RuntimeError(f"call {params.call_sid} conflicted but is not stored")
        line_id, result, within_hours, caller_number = row
        stored = _StoredCall(params.call_sid, line_id, result, bool(within_hours), caller_number)
        return _incoming_decision(snapshot, stored)
    call_id, version = inserted
    if refresh is not None and (version or "") != snapshot.version:
        snapshot = refresh(version or "")
        fresh = _routing_values(snapshot, to_number, now)
        if fresh != routing:
            connection.fetch_one(_REROUTE_CALL, {"id": call_id, **fresh})
            routing = fresh
    if routing["unknown_line"]:
        log.warning("call %s to %s: no line has this number", params.call_sid, to_number)
    stored = _StoredCall(
        params.call_sid,
        routing["line_id"],  # type: ignore[arg-type]
        routing["result"],  # type: ignore[arg-type]
        bool(routing["within_hours"]),
        caller,
    )
    return _incoming_decision(snapshot, stored)


@dataclass(frozen=True)
class _StoredCall:
    call_sid: str
    line_id: int | None
    result: str | None
    within_hours: bool
    caller_number: str | None


def _routing_values(snapshot: RoutingTable, to_number: str, now: datetime) -> dict:
    """The columns of a new call that depend on the directory snapshot."""
    if to_number in snapshot.teleconference_numbers:
        return {
            "line_id": None,
            "unknown_line": False,
            "within_hours": True,
            "result": CallResult.TELECONFERENCE.value,
        }
    line = snapshot.lines.get(to_number)
    within_hours = snapshot.is_open(now)
    ringing = within_hours and snapshot.coordinators
    return {
        "line_id": line.line_id if line else None,
        "unknown_line": line is None,
        "within_hours": within_hours,
        "result": (CallResult.RINGING if ringing else CallResult.NO_ANSWER).value,
    }


def _typed(*names: str) -> list[BindParameter]:
    """Bind parameters typed like the calls columns they fill (same stored values)."""
    return [bindparam(name, type_=Call.__table__.c[name].type) for name in names]


_ROUTING_COLUMNS = ("line_id", "unknown_line", "within_hours", "result")
# The whole of a new call's write: the caller's customer by a subquery, the directory
# token returned with the row (org_settings has one row; by id in case of strays).
_INSERT_CALL = text(
    """
    INSERT INTO calls (call_sid, to_number, from_number, forwarded_from, caller_number,
        status, started_at, line_id, unknown_line, within_hours, result, customer_id,
        last_sequence, caller_declined, disposition_details)
    VALUES (:call_sid, :to_number, :from_number, :forwarded_from, :caller_number,
        :status, :started_at, :line_id, :unknown_line, :within_hours, :result,
        (SELECT id FROM customers WHERE phone = :caller ORDER BY id LIMIT 1),
        -1, false, '{}')
    ON CONFLICT (call_sid) DO NOTHING
    RETURNING id, (SELECT directory_version FROM org_settings ORDER BY id LIMIT 1)
    """
).bindparams(
    *_typed(
        "call_sid",
        "to_number",
        "from_number",
        "forwarded_from",
        "caller_number",
        "status",
        "started_at",
        *_ROUTING_COLUMNS,
    ),
    bindparam("caller", type_=Customer.__table__.c.phone.type),
)
_STORED_CALL = text(
    "SELECT line_id, result, within_hours, caller_number FROM calls WHERE call_sid = :call_sid"
).bindparams(*_typed("call_sid"))
_REROUTE_CALL = text(
    "UPDATE calls SET line_id = :line_id, unknown_line = :unknown_line,"
    " within_hours = :within_hours, result = :result WHERE id = :id"
).bindparams(*_typed("id", *_ROUTING_COLUMNS))


def _incoming_decision(snapshot: RoutingTable, call: _StoredCall) -> IncomingDecision:
    if call.result == CallResult.TELECONFERENCE:
        return IncomingDecision("teleconference", call.call_sid)
    line = snapshot.lines_by_id.get(call.line_id) if call.line_id is not None else None
    name = line.salesperson_name if line else None
    if call.result != CallResult.RINGING and call.result != CallResult.ANSWERED:
        return IncomingDecision(
            "voicemail", call.call_sid, salesperson_name=name, within_hours=call.within_hours
        )
    return IncomingDecision(
        "ring",
        call.call_sid,
        salesperson_name=name,
        coordinators=snapshot.coordinators,
        ring_timeout=snapshot.ring_timeout_seconds,
        caller_id=call.caller_number,
    )


def _known_status(raw: str | None) -> str | None:
    try:
        return CallStatus(raw).value if raw else None
    except ValueError:
        return None


def ensure_call(
    session: Session,
    params: CallParams,
    snapshot: RoutingTable | None = None,
    *,
    now: datetime,
    region: str = "US",
) -> Call:
    """The call for a callback; created (as a fallback call) when /incoming never stored it.

    That happens when the database was down during /incoming and the caller went
    through the fallback TwiML, or when a database crash lost the newest calls' rows
    (/incoming's commit does not wait for the WAL flush): the voicemail and the status
    must still be kept, with the line and the customer when they can be told.
    """
    if not params.call_sid:
        raise MissingCallSid("CallSid is required")
    call = _call_by_sid(session, params.call_sid)
    if call is not None:
        return call
    to_number = normalise_dialled(params.to_number, region)
    caller = normalise_caller(params.from_number, region)
    line = snapshot.lines.get(to_number) if snapshot is not None else None
    call = Call(
        call_sid=params.call_sid,
        to_number=to_number[:32],
        from_number=params.from_number[:64] or "unknown",
        caller_number=caller,
        line_id=line.line_id if line else None,
        unknown_line=snapshot is not None and line is None,
        customer_id=(
            session.scalar(
                select(Customer.id).where(Customer.phone == caller).order_by(Customer.id).limit(1)
            )
            if caller
            else None
        ),
        status=CallStatus.IN_PROGRESS.value,
        result=CallResult.FALLBACK.value,
        started_at=now,
        last_sequence=-1,
    )
    session.add(call)
    session.flush()
    return call


def accept_whisper(
    session: Session, call_sid: str, coordinator_id: int | None, digits: str, *, now: datetime
) -> bool:
    """A coordinator's leg answered the whisper. True when she pressed 1 and takes it."""
    call = _call_by_sid(session, call_sid)
    if call is None:
        log.warning("whisper answer for unknown call %s", call_sid)
        return digits == "1"
    if digits != "1":
        session.add(
            CallEvent(
                call=call,
                status="whisper-declined",
                at=now,
                payload={"coordinator_id": coordinator_id, "digits": digits},
            )
        )
        return False
    if call.answered_at is None:
        call.answered_by_id = coordinator_id
        call.answered_at = now
        call.ring_seconds = max(0, round((now - call.started_at).total_seconds()))
        call.result = CallResult.ANSWERED.value
        session.add(
            CallEvent(
                call=call, status="answered", at=now, payload={"coordinator_id": coordinator_id}
            )
        )
    return True


def declined_coordinators(call: Call) -> set[int]:
    return {
        int(event.payload["coordinator_id"])
        for event in call.events
        if event.status == "whisper-declined" and event.payload.get("coordinator_id") is not None
    }


def complete_dial(
    session: Session,
    snapshot: RoutingTable,
    params: CallParams,
    *,
    dial_status: str,
    dial_duration: int | None,
    round_number: int,
    now: datetime,
) -> DialDecision:
    """The coordinators' <Dial> ended: the call was taken, or ring again, or voicemail."""
    call = ensure_call(session, params, snapshot, now=now)
    call.dial_status = (dial_status or "")[:20] or None
    line = snapshot.lines_by_id.get(call.line_id) if call.line_id is not None else None
    name = line.salesperson_name if line else None
    if call.answered_by_id is not None and dial_status in DIAL_PICKED_UP:
        call.result = CallResult.ANSWERED.value
        if dial_duration is not None:
            call.talk_seconds = dial_duration
        return DialDecision("hangup", call.call_sid)
    if params.call_status in FINAL_STATUSES:
        # The caller hung up while the coordinators' phones rang.
        _abandon(call, snapshot, now)
        return DialDecision("hangup", call.call_sid)
    if dial_status in DIAL_PICKED_UP and round_number == 1:
        # A leg picked up without pressing 1 (declined, or a personal voicemail took it),
        # which cancelled the other legs: ring the rest of the team once more.
        skip = declined_coordinators(call)
        others = tuple(c for c in snapshot.coordinators if c.user_id not in skip)
        if others:
            return DialDecision(
                "ring_again",
                call.call_sid,
                salesperson_name=name,
                coordinators=others,
                ring_timeout=snapshot.ring_timeout_seconds,
                caller_id=call.caller_number,
            )
    call.result = CallResult.NO_ANSWER.value
    call.ring_seconds = max(0, round((now - call.started_at).total_seconds()))
    return DialDecision("voicemail", call.call_sid, salesperson_name=name)


def _open_enquiry(call: Call, snapshot: RoutingTable, kind: EnquiryKind, now: datetime):
    enquiry = call_enquiry(call)
    if enquiry is None:
        enquiry = Enquiry(
            call=call,
            customer_id=call.customer_id,
            line_id=call.line_id,
            caller_number=call.caller_number,
            kind=kind,
            sla_deadline=snapshot.sla_deadline(now),
            created_at=now,
        )
        _session_of(call).add(enquiry)
    elif kind == EnquiryKind.VOICEMAIL:
        enquiry.kind = kind
    return enquiry


def call_enquiry(call: Call) -> Enquiry | None:
    session = _session_of(call)
    if call.id is None:
        session.flush()
    return session.scalar(select(Enquiry).where(Enquiry.call_id == call.id))


def _session_of(call: Call) -> Session:
    session = object_session(call)
    if session is None:
        raise RuntimeError("the call must belong to a session")
    return session


def _abandon(call: Call, snapshot: RoutingTable, now: datetime) -> None:
    if call.result in (CallResult.RINGING, None):
        call.result = CallResult.ABANDONED.value
        _open_enquiry(call, snapshot, EnquiryKind.ABANDONED, now)


def record_voicemail(
    session: Session,
    snapshot: RoutingTable,
    params: CallParams,
    *,
    recording_url: str | None,
    recording_seconds: int | None,
    now: datetime,
) -> Enquiry | None:
    """The caller left a message: it becomes (or upgrades) the call's enquiry."""
    call = ensure_call(session, params, snapshot, now=now)
    if not recording_url or not recording_seconds or recording_seconds < 1:
        # Silence or an immediate hang-up: a missed call, not a voicemail.
        enquiry = _open_enquiry(call, snapshot, EnquiryKind.MISSED, now)
        if call.result not in (CallResult.VOICEMAIL,):
            call.result = CallResult.NO_ANSWER.value
        return enquiry
    enquiry = _open_enquiry(call, snapshot, EnquiryKind.VOICEMAIL, now)
    enquiry.recording_url = recording_url[:500]
    enquiry.recording_seconds = recording_seconds
    call.recording_url = recording_url[:500]
    call.result = CallResult.VOICEMAIL.value
    return enquiry


def record_transcription(
    session: Session,
    snapshot: RoutingTable,
    params: CallParams,
    *,
    status: str,
    text: str | None,
    recording_url: str | None,
    now: datetime,
) -> Enquiry:
    """Twilio's transcript of the voicemail (arrives later, maybe before the recording)."""
    call = ensure_call(session, params, snapshot, now=now)
    enquiry = _open_enquiry(call, snapshot, EnquiryKind.VOICEMAIL, now)
    if recording_url and not enquiry.recording_url:
        enquiry.recording_url = recording_url[:500]
        call.recording_url = recording_url[:500]
    if call.result != CallResult.TELECONFERENCE:
        call.result = CallResult.VOICEMAIL.value
    if status == "completed" and text:
        enquiry.transcript = text
    else:
        log.info("transcription for call %s: %s", call.call_sid, status)
    return enquiry


def apply_status(
    session: Session,
    snapshot: RoutingTable,
    params: CallParams,
    *,
    sequence: int | None,
    duration: int | None,
    timestamp: datetime | None = None,
    now: datetime,
) -> Call:
    """Apply one status callback, whatever order they arrive in and however often.

    The event is kept in the timeline once; the call's status only moves forward (a late
    ``ringing`` never overwrites ``completed``; ``SequenceNumber`` orders equal ranks).
    """
    status = _known_status(params.call_status)
    call = ensure_call(session, params, snapshot, now=now)
    at = timestamp or now
    duplicate = any(
        event.status == (status or params.call_status) and event.sequence_number == sequence
        for event in call.events
    )
    if duplicate:
        return call
    session.add(
        CallEvent(
            call=call,
            status=(status or params.call_status or "unknown")[:20],
            sequence_number=sequence,
            at=at,
            payload={k: v for k, v in params.extra.items() if k != "AccountSid"},
        )
    )
    if status is None:
        return call
    current_rank = _STATUS_RANK.get(_known_status(call.status), -1)
    new_rank = _STATUS_RANK[CallStatus(status)]
    newer = sequence is None or sequence > call.last_sequence
    if new_rank > current_rank or (new_rank == current_rank and newer and new_rank < 3):
        call.status = status
    if sequence is not None and sequence > call.last_sequence:
        call.last_sequence = sequence
    if status in FINAL_STATUSES and call.ended_at is None:
        _finish(call, snapshot, at, duration)
    return call


def _finish(call: Call, snapshot: RoutingTable, at: datetime, duration: int | None) -> None:
    call.ended_at = at
    if duration is not None:
        call.duration_seconds = duration
    if call.answered_at is not None and call.talk_seconds is None:
        call.talk_seconds = max(0, round((at - call.answered_at).total_seconds()))
    if call.result in (CallResult.RINGING, None):
        _abandon(call, snapshot, at)
    elif call.result == CallResult.NO_ANSWER:
        # Sent to voicemail and hung up without a message: still needs a call back.
        _open_enquiry(call, snapshot, EnquiryKind.MISSED, at)
