"""Ending a call (or resolving a missed enquiry) with exactly one outcome.

The console's one form posts plain strings; ``form.parse_disposition`` checks them and
returns every field error at once, then ``close.dispose_call`` / ``close.resolve_enquiry``
claim the call or enquiry, resolve the caller (``caller``) and apply the outcome through its
handler (``outcomes``: ``bookings``, ``account_management``, ``refund``; moves and
cancellations in ``routing.desk.change_outcome``), in the caller's transaction. ``tasks``
holds the callback task an outcome leaves and closing any task. Nothing here commits.
"""

from .caller import resolve_caller
from .calls import ENDED_STATUSES, call_state, was_answered
from .close import dispose_call, resolve_enquiry
from .form import parse_disposition, parse_participants
from .tasks import TASK_OUTCOMES, close_task, create_callback_task
from .types import (
    LEAST_LOADED,
    OUTCOME_LABELS,
    SALES_OUTCOMES,
    DeskSettings,
    Disposition,
    DispositionResult,
)

__all__ = [
    "ENDED_STATUSES",
    "LEAST_LOADED",
    "OUTCOME_LABELS",
    "SALES_OUTCOMES",
    "TASK_OUTCOMES",
    "DeskSettings",
    "Disposition",
    "DispositionResult",
    "call_state",
    "close_task",
    "create_callback_task",
    "dispose_call",
    "parse_disposition",
    "parse_participants",
    "resolve_caller",
    "resolve_enquiry",
    "was_answered",
]
