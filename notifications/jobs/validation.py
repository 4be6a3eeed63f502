"""The job service's input rules: text limits, storable text, status transitions."""

from __future__ import annotations

from typing import Final

from models import JobStatus

from .errors import InvalidJob

MAX_REFERENCE = 100
MAX_DESCRIPTION = 5000
MAX_REASON = 1000


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()


# Where a job may go next; delivered and cancelled are final.
TRANSITIONS: dict[JobStatus, set[JobStatus]] = {
    JobStatus.OPEN: {JobStatus.IN_PROGRESS, JobStatus.DELIVERED, JobStatus.CANCELLED},
    JobStatus.IN_PROGRESS: {JobStatus.OPEN, JobStatus.DELIVERED, JobStatus.CANCELLED},
    JobStatus.DELIVERED: set(),
    JobStatus.CANCELLED: set(),
}


def clean_text(value: object, field: str, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidJob(f"{field} is required", field)
        return None
    if not isinstance(value, str):
        raise InvalidJob(f"{field} must be text", field)
    value = value.strip()
    if len(value) > limit:
        raise InvalidJob(f"{field} is longer than {limit} characters", field)
    if not is_storable_text(value):
        raise InvalidJob(f"{field} contains characters that cannot be stored", field)
    return value


def is_storable_text(value: str) -> bool:
    """No NUL characters (PostgreSQL refuses them) and no lone surrogates (not UTF-8)."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
