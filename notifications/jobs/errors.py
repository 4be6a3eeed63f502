"""What the job service refuses, each error naming the input at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from models import Job, JobStatus

from .eta import Eta

if TYPE_CHECKING:
    from notifications.capacity import DayCheck


class JobError(Exception):
    """A job request that breaks a rule; ``field`` names the input at fault."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidJob(JobError):
    pass


class DuplicateJob(JobError):
    def __init__(self, job: Job):
        super().__init__(f"a job with reference {job.reference!r} already exists", "reference")
        self.job = job


class UnknownAccountManager(JobError):
    def __init__(self, email: str):
        super().__init__(
            f"{email!r} is not an active account manager", field="account_manager_email"
        )


class DayFull(JobError):
    """The ETA falls on a day without room: its load and the nearest later days with room.

    The same request with an override reason is accepted and the override recorded.
    """

    def __init__(self, eta: Eta, check: DayCheck):
        load = check.load
        day = f"{load.day:%A} {load.day.day} {load.day:%B %Y}"
        if load.capacity == 0:
            message = f"{day} takes no deliveries"
        else:
            message = f"{day} is fully booked ({load.booked} of {load.capacity} deliveries)"
        if check.alternatives:
            nearest = ", ".join(d.isoformat() for d in check.alternatives)
            message += f"; the nearest days with room are {nearest}"
        else:
            message += "; no later day has room in the coming year"
        super().__init__(message + ". To promise it anyway, give the reason.", "eta")
        self.eta = eta
        self.load = load
        self.alternatives = check.alternatives

    def details(self) -> dict[str, Any]:
        """The 409 body's details, as PRODUCT.md §5 fixes them."""
        return {
            "eta": self.eta.iso(),
            "booked": self.load.booked,
            "capacity": self.load.capacity,
            "alternatives": [d.isoformat() for d in self.alternatives],
        }


class InvalidTransition(JobError):
    def __init__(self, current: JobStatus, wanted: JobStatus):
        super().__init__(
            f"a job that is {current.value} cannot become {wanted.value}", field="status"
        )
