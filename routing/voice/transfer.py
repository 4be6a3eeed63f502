"""Putting a live call through to an account manager, and keeping the promise when she
cannot take it.

The console redirects the caller's leg to a <Dial> of her phone; its ``action`` reports
Twilio's DialCallStatus (completed, answered, busy, no-answer, failed, canceled). A warm
transfer announces the caller and connects only when she presses 1 (so her personal
voicemail never swallows the call); a cold one connects as soon as her phone answers.
Whatever the result, the call's timeline records it; when she did not take the call, a
callback task with an SLA lands on her home page, once, however often Twilio retries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Call, CallEvent, Task, TaskKind, TaskStatus, User

from .calls import DIAL_PICKED_UP, FINAL_STATUSES

WARM = "warm"
COLD = "cold"
MODES = (WARM, COLD)
CALLBACK_SLA = timedelta(hours=1)

# What the caller hears when she did not take the call, by DialCallStatus.
_WHY = {
    "busy": "{name} is on another call right now.",
    "no-answer": "{name} did not answer.",
    "failed": "We could not reach {name}'s phone.",
}
_DECLINED = "{name} could not take your call right now."


@dataclass(frozen=True)
class TransferResult:
    connected: bool
    caller_gone: bool
    manager_name: str
    apology: str = ""


def _event(session: Session, call: Call, status: str, user_id: int, now: datetime, **extra):
    """Add a timeline event unless the same one is already there (Twilio retries)."""
    for event in call.events:
        if event.status == status and event.payload.get("user_id") == user_id:
            return event
    event = CallEvent(call=call, status=status, at=now, payload={"user_id": user_id, **extra})
    session.add(event)
    return event


def start_transfer(session: Session, call: Call, manager: User, mode: str, now: datetime) -> None:
    """The caller's leg now rings the account manager (timeline: who was rung, how)."""
    _event(session, call, "transfer-ringing", manager.id, now, mode=mode, name=manager.name)


def accept_transfer(
    session: Session, call: Call, manager: User, digits: str, now: datetime
) -> bool:
    """Her key after the announcement: 1 takes the call, anything else declines it."""
    if digits.strip() != "1":
        _event(session, call, "transfer-declined", manager.id, now)
        return False
    _event(session, call, "transfer-answered", manager.id, now, name=manager.name)
    return True


def _accepted(call: Call, user_id: int) -> bool:
    return any(
        e.status == "transfer-answered" and e.payload.get("user_id") == user_id for e in call.events
    )


def complete_transfer(
    session: Session,
    call: Call,
    manager: User,
    *,
    mode: str,
    dial_status: str,
    dial_duration: int | None,
    call_status: str,
    now: datetime,
) -> TransferResult:
    """Her <Dial> ended: connected (and since finished), or a callback task for her."""
    picked_up = dial_status in DIAL_PICKED_UP
    connected = picked_up and (mode == COLD or _accepted(call, manager.id))
    caller_gone = call_status in FINAL_STATUSES or dial_status == "canceled"
    if connected:
        _event(
            session,
            call,
            "transfer-completed",
            manager.id,
            now,
            dial_status=dial_status,
            seconds=dial_duration,
        )
        return TransferResult(True, caller_gone, manager.name)
    _event(session, call, "transfer-missed", manager.id, now, dial_status=dial_status or None)
    callback_task_for_missed_transfer(session, call, manager, now)
    apology = _WHY.get(dial_status, _DECLINED).format(name=manager.name)
    return TransferResult(False, caller_gone, manager.name, apology)


def callback_task_for_missed_transfer(
    session: Session, call: Call, manager: User, now: datetime
) -> Task:
    """One open callback task per call and account manager, due within the SLA."""
    existing = session.scalar(
        select(Task).where(
            Task.call_id == call.id,
            Task.assignee_id == manager.id,
            Task.kind == TaskKind.CALLBACK,
        )
    )
    if existing is not None:
        return existing
    who = call.customer.name if call.customer else (call.caller_number or "the caller")
    task = Task(
        kind=TaskKind.CALLBACK,
        status=TaskStatus.OPEN,
        assignee_id=manager.id,
        customer_id=call.customer_id,
        call_id=call.id,
        description=f"Call {who} back: the transfer to you was not answered.",
        due_at=now + CALLBACK_SLA,
        created_at=now,
    )
    session.add(task)
    session.flush()
    return task


def record_transfer_voicemail(
    session: Session,
    call: Call,
    manager: User,
    *,
    recording_url: str | None,
    seconds: int | None,
    now: datetime,
) -> None:
    """The caller left her a message: on the call, its timeline and her callback task."""
    if recording_url:
        call.recording_url = recording_url[:500]
    _event(
        session,
        call,
        "transfer-voicemail",
        manager.id,
        now,
        recording_url=recording_url,
        seconds=seconds,
    )
    task = callback_task_for_missed_transfer(session, call, manager, now)
    if "voicemail" not in task.description:
        task.description = task.description.rstrip(".") + " (they left you a voicemail)."
