"""What a disposition is: the checked form, its result, the desk's settings, the outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from models import Call, Customer, Enquiry, Job, Line, Outcome, Salesperson, Task, User

SALES_OUTCOMES = frozenset(
    {
        Outcome.APPOINTMENT,
        Outcome.TELECONFERENCE,
        Outcome.ACCOUNT_MANAGEMENT,
        Outcome.REFUND_REQUEST,
        Outcome.GENERAL_ENQUIRY,
    }
)
OUTCOME_LABELS = {
    Outcome.APPOINTMENT: "Appointment with the salesperson",
    Outcome.TELECONFERENCE: "Teleconference",
    Outcome.ACCOUNT_MANAGEMENT: "Account management",
    Outcome.REFUND_REQUEST: "Refund or cancellation request",
    Outcome.GENERAL_ENQUIRY: "General enquiry",
    Outcome.WRONG_NUMBER: "Wrong number / spam",
    Outcome.APPOINTMENT_CHANGE: "Move or cancel an appointment",
}
LEAST_LOADED = "least_loaded"


@dataclass(frozen=True)
class DeskSettings:
    """What the desk needs from configuration, passed in so services never read Flask."""

    zone: ZoneInfo
    region: str = "US"
    mail_from: str = "Switchboard <switchboard@example.com>"
    console_url: str = "http://127.0.0.1:5000"
    # notifications.jobs.JobSettings, for jobs created from the form.
    job_settings: Any = None


@dataclass
class Disposition:
    """A checked disposition form: values are typed, required ones are present."""

    outcome: Outcome
    caller_declined: bool = False
    caller_name: str | None = None
    caller_phone: str | None = None
    caller_email: str | None = None
    notes: str | None = None
    slot_start: datetime | None = None
    length_minutes: int = 30
    place: str | None = None
    conference_title: str | None = None
    conference_start: datetime | None = None
    conference_minutes: int = 30
    participants: list[tuple[str, str]] = field(default_factory=list)
    account_manager_id: int | None = None  # None = least loaded with capacity
    transfer: bool = False
    transfer_mode: str = "warm"  # warm: she hears who it is first; cold: connected at once
    job_reference: str | None = None
    new_job_reference: str | None = None
    new_job_description: str | None = None
    new_job_eta: str | None = None
    # "Choose anyway": why the new job is promised a day that has no room.
    new_job_eta_override_reason: str | None = None
    refund_reason: str | None = None
    # Outcome.APPOINTMENT_CHANGE: ("appointment" | "teleconference", id), move or cancel.
    change_booking: tuple[str, int] | None = None
    change_action: str | None = None
    move_start: datetime | None = None
    cancel_reason: str | None = None


@dataclass
class DispositionResult:
    outcome: Outcome
    customer: Customer | None = None
    appointment_id: int | None = None
    teleconference_id: int | None = None
    task: Task | None = None
    account_manager: User | None = None
    job: Job | None = None
    # Set when the coordinator asked to put the live call through: done after commit.
    transfer_to: User | None = None
    transfer_mode: str = "warm"
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class OutcomeContext:
    """What an outcome's handler knows of the call: its line, salesperson and customer."""

    call: Call | None
    enquiry: Enquiry | None
    line: Line | None
    salesperson: Salesperson | None
    customer: Customer | None
