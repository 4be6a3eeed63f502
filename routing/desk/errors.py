"""Domain errors of the desk; ``routing.errors`` maps them to responses."""

from __future__ import annotations

from ..errors import Conflict, NotFound, SwitchboardError, ValidationFailed


class InvalidDisposition(ValidationFailed):
    """The form has field errors: ``details`` maps each field name to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Please correct the highlighted fields.", details=errors)
        self.errors = errors


class SlotTaken(Conflict):
    """The salesperson's slot was booked by someone else (possibly a moment ago)."""


class AlreadyDisposed(Conflict):
    """The call or enquiry has already been closed; nothing was changed."""


class CallNotFound(NotFound):
    pass


class EnquiryNotFound(NotFound):
    pass


class TaskNotFound(NotFound):
    pass


class NotClaimable(Conflict):
    pass


class NotYourTask(SwitchboardError):
    """An account manager may only close her own tasks."""

    status_code = 403
