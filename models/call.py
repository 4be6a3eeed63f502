"""Calls on diverted lines, their status timeline, and the enquiries missed calls leave."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import E164, Base, UTCDateTime, utcnow
from .customer import Customer
from .organisation import Line, User


class CallStatus(enum.StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"
    FAILED = "failed"


class CallResult(enum.StrEnum):
    """``Call.result``: what became of a call, as the console and reports show it."""

    RINGING = "ringing"  # coordinators' phones are ringing
    ANSWERED = "answered"  # a coordinator pressed 1 and was connected
    VOICEMAIL = "voicemail"  # nobody took it (or closed) and the caller left a message
    ABANDONED = "abandoned"  # the caller hung up while coordinators' phones rang
    NO_ANSWER = "no-answer"  # nobody took it / closed: sent to voicemail, no message (yet)
    FALLBACK = "fallback"  # degraded mode: dialled the fallback numbers, no routing
    TELECONFERENCE = "teleconference"  # a dial-in to a teleconference


class Outcome(enum.StrEnum):
    """How a coordinator ended a call (the disposition)."""

    APPOINTMENT = "appointment"
    TELECONFERENCE = "teleconference"
    ACCOUNT_MANAGEMENT = "account_management"
    REFUND_REQUEST = "refund_request"
    GENERAL_ENQUIRY = "general_enquiry"
    WRONG_NUMBER = "wrong_number"
    # The caller moved or cancelled an appointment or teleconference she already had.
    APPOINTMENT_CHANGE = "appointment_change"


class Call(Base):
    __tablename__ = "calls"
    # The call log pages by (started_at, id), newest first, under each of its filters.
    __table_args__ = (
        Index("ix_calls_started_at", "started_at"),
        Index("ix_calls_line_started", "line_id", "started_at", "id"),
        Index("ix_calls_answered_by_started", "answered_by_id", "started_at", "id"),
        Index("ix_calls_caller_started", "caller_number", "started_at", "id"),
        Index("ix_calls_customer_started", "customer_id", "started_at", "id"),
        Index("ix_calls_outcome_started", "outcome", "started_at", "id"),
        # The call's line and customer: foreign keys on SQLite only. On PostgreSQL a
        # foreign-key check locks the referenced row (FOR KEY SHARE), so every incoming
        # call wrote a row lock on its line (a thousand rows on a few pages, shared by every
        # call) and on its customer (a random page of customers, WAL and its all-visible
        # bit); that cost 15-45 % of the call path's throughput at 32 concurrent calls.
        # Lines and customers are never deleted by the product; migration 0009's triggers
        # do what ON DELETE SET NULL did if one is deleted by hand.
        ForeignKeyConstraint(["line_id"], ["lines.id"], ondelete="SET NULL").ddl_if(
            dialect="sqlite"
        ),
        ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="SET NULL").ddl_if(
            dialect="sqlite"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # line_id, caller_number, customer_id and answered_by_id are each the first column of
    # one of the indexes above, which serves lookups by that column alone (migration 0010).
    line_id: Mapped[int | None] = mapped_column(Integer)
    # Raw values as Twilio sent them; `caller_number` is the normalised E.164 (if any).
    to_number: Mapped[str] = mapped_column(String(32))
    from_number: Mapped[str] = mapped_column(String(64))
    forwarded_from: Mapped[str | None] = mapped_column(String(32))
    caller_number: Mapped[str | None] = mapped_column(E164)
    customer_id: Mapped[int | None] = mapped_column(Integer)
    unknown_line: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.RINGING.value)
    # Highest Twilio SequenceNumber applied; older callbacks never overwrite newer ones.
    last_sequence: Mapped[int] = mapped_column(Integer, default=-1)
    within_hours: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    ring_seconds: Mapped[int | None] = mapped_column(Integer)
    talk_seconds: Mapped[int | None] = mapped_column(Integer)
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    # What became of the call, kept current by the voice webhooks (see CallResult).
    result: Mapped[str | None] = mapped_column(String(20))
    # Twilio's DialCallStatus of the coordinator <Dial> (completed, busy, no-answer …).
    dial_status: Mapped[str | None] = mapped_column(String(20))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[Outcome | None] = mapped_column(Enum(Outcome, native_enum=False, length=30))
    disposed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The coordinator asked and the caller would not give name, phone or email (reported).
    caller_declined: Mapped[bool] = mapped_column(Boolean, default=False)
    disposition_notes: Mapped[str | None] = mapped_column(Text)
    # What the disposition created: {"appointment_id": 3} or {"task_id": 7, "reason": …}.
    disposition_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    line: Mapped[Line | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan"
    )


class CallEvent(Base):
    """One status callback as Twilio sent it: the call's timeline."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    sequence_number: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class EnquiryKind(enum.StrEnum):
    MISSED = "missed"
    ABANDONED = "abandoned"
    VOICEMAIL = "voicemail"
    CALLBACK = "callback"
    FEEDBACK = "feedback"  # a customer's low rating or comment, owned by her account manager
    # A customer asked, from a reminder's link, to change an appointment.
    CHANGE_REQUEST = "change_request"


class EnquiryStatus(enum.StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


class Enquiry(Base):
    """A call that still needs a human: it stays in the queue until resolved."""

    __tablename__ = "enquiries"
    __table_args__ = (
        Index("ix_enquiries_status_deadline", "status", "sla_deadline"),
        Index("ix_enquiries_owner_status", "owner_id", "status"),
        # Reports: enquiries opened in a period.
        Index("ix_enquiries_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(
        ForeignKey("calls.id", ondelete="SET NULL"), unique=True
    )
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("lines.id", ondelete="SET NULL"))
    caller_number: Mapped[str | None] = mapped_column(E164)
    kind: Mapped[EnquiryKind] = mapped_column(Enum(EnquiryKind, native_enum=False, length=20))
    status: Mapped[EnquiryStatus] = mapped_column(
        Enum(EnquiryStatus, native_enum=False, length=20), default=EnquiryStatus.OPEN
    )
    sla_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recording_url: Mapped[str | None] = mapped_column(String(500))
    recording_seconds: Mapped[int | None] = mapped_column(Integer)
    transcript: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    sla_breach_alerted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its owner (or the team, unclaimed) was warned at 80 % of the SLA.
    sla_warning_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The disposition the enquiry was resolved with.
    outcome: Mapped[Outcome | None] = mapped_column(Enum(Outcome, native_enum=False, length=30))

    call: Mapped[Call | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
    line: Mapped[Line | None] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
