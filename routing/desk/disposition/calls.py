"""How the console sees a call: ringing, in progress or ended; answered or not."""

from __future__ import annotations

from models import Call, CallStatus

ENDED_STATUSES = {
    CallStatus.COMPLETED.value,
    CallStatus.BUSY.value,
    CallStatus.NO_ANSWER.value,
    CallStatus.CANCELED.value,
    CallStatus.FAILED.value,
}


def call_state(call: Call) -> str:
    """ "ringing", "in progress" or "ended", as the console shows a call."""
    if call.ended_at is not None or call.status in ENDED_STATUSES:
        return "ended"
    if call.answered_at is not None or call.answered_by_id is not None or call.result == "answered":
        return "in progress"
    return "ringing"


def was_answered(call: Call) -> bool:
    return (
        call.answered_at is not None
        or call.answered_by_id is not None
        or call.result in {"answered", "teleconference"}
    )
