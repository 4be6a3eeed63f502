"""Switchboard's data model. Importing this package registers every table on Base."""

from .audit import AuditEntry
from .base import Base, UTCDateTime, utcnow
from .booking import (
    Appointment,
    AppointmentSlot,
    BookingStatus,
    Task,
    TaskKind,
    TaskStatus,
    Teleconference,
    TeleconferenceParticipant,
)
from .call import (
    Call,
    CallEvent,
    CallResult,
    CallStatus,
    Enquiry,
    EnquiryKind,
    EnquiryStatus,
    Outcome,
)
from .call_rollup import (
    CallDayChange,
    CallDayFigures,
    CallDayLineFigures,
    CallDayLines,
    CallDayManagerStatus,
    CallRolledDay,
    CallRollupState,
)
from .capacity import DeliveryCapacity, DeliveryDay, EtaOverride
from .customer import Customer
from .db import Database, make_engine
from .hours import BusinessCalendar, bump_directory_version, directory_version
from .job import OPEN_JOB_STATUSES, EtaChange, FeedbackStage, Job, JobFeedback, JobStatus
from .login import LoginFailure
from .organisation import (
    ApiToken,
    BusinessHours,
    Holiday,
    Line,
    OrgSettings,
    Role,
    Salesperson,
    SalespersonHours,
    TimeOff,
    User,
)
from .outbox import EmailEvent, EmailStatus, OutboundEmail

__all__ = [
    "CallDayChange",
    "CallDayFigures",
    "CallDayLineFigures",
    "CallDayLines",
    "CallDayManagerStatus",
    "CallRolledDay",
    "CallRollupState",
    "OPEN_JOB_STATUSES",
    "ApiToken",
    "Appointment",
    "AppointmentSlot",
    "AuditEntry",
    "BookingStatus",
    "Base",
    "BusinessCalendar",
    "BusinessHours",
    "Call",
    "CallEvent",
    "CallResult",
    "CallStatus",
    "Customer",
    "Database",
    "DeliveryCapacity",
    "DeliveryDay",
    "EmailEvent",
    "EmailStatus",
    "Enquiry",
    "EnquiryKind",
    "EnquiryStatus",
    "EtaChange",
    "EtaOverride",
    "FeedbackStage",
    "Holiday",
    "Job",
    "JobFeedback",
    "JobStatus",
    "Line",
    "LoginFailure",
    "OrgSettings",
    "OutboundEmail",
    "Outcome",
    "Role",
    "Salesperson",
    "SalespersonHours",
    "Task",
    "TaskKind",
    "TaskStatus",
    "Teleconference",
    "TeleconferenceParticipant",
    "TimeOff",
    "User",
    "UTCDateTime",
    "bump_directory_version",
    "directory_version",
    "make_engine",
    "utcnow",
]
