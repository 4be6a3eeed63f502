"""Appointments with salespeople, teleconferences, and follow-up tasks."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import E164, Base, UTCDateTime, utcnow
from .customer import Customer
from .organisation import Salesperson, User


class BookingStatus(enum.StrEnum):
    """Whether an appointment or teleconference still takes place."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_salesperson_start", "salesperson_id", "start_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("salespeople.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(300))
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, native_enum=False, length=20), default=BookingStatus.BOOKED
    )
    # The invite's SEQUENCE: raised by every move and by the cancellation, so calendar
    # programs apply the update to the event they already have (same UID).
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The customer's reminder in the outbox (pending until the business day before).
    reminder_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="SET NULL")
    )

    salesperson: Mapped[Salesperson] = relationship()
    customer: Mapped[Customer] = relationship()


class AppointmentSlot(Base):
    """One booked slot of a salesperson's calendar.

    An appointment claims every slot it covers; the unique constraint makes a
    double booking impossible at the database level, on SQLite and PostgreSQL alike.
    """

    __tablename__ = "appointment_slots"
    __table_args__ = (UniqueConstraint("salesperson_id", "slot_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    appointment_id: Mapped[int] = mapped_column(
        ForeignKey("appointments.id", ondelete="CASCADE"), index=True
    )
    salesperson_id: Mapped[int] = mapped_column(ForeignKey("salespeople.id", ondelete="CASCADE"))
    slot_start: Mapped[datetime] = mapped_column(UTCDateTime)


def _active_pin(context: Any) -> str | None:
    """A new conference holds its PIN unless it is inserted already cancelled."""
    values = context.get_current_parameters()
    if str(values.get("status") or "").lower().endswith("cancelled"):
        return None
    return values["pin"]


class Teleconference(Base):
    __tablename__ = "teleconferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    start_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dial_in_number: Mapped[str] = mapped_column(E164)
    pin: Mapped[str] = mapped_column(String(12), index=True)
    # The PIN while the conference is active (booked and not long over); NULL once it is
    # cancelled or ended. Unique: two active conferences never share a PIN, on any
    # database (NULLs do not collide), whatever the code does.
    active_pin: Mapped[str | None] = mapped_column(String(12), unique=True, default=_active_pin)
    # The <Conference> room name callers are joined to.
    room: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    salesperson_id: Mapped[int | None] = mapped_column(
        ForeignKey("salespeople.id", ondelete="SET NULL")
    )
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[BookingStatus] = mapped_column(
        Enum(BookingStatus, native_enum=False, length=20), default=BookingStatus.BOOKED
    )
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    reminder_email_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_emails.id", ondelete="SET NULL")
    )

    customer: Mapped[Customer | None] = relationship()
    salesperson: Mapped[Salesperson | None] = relationship()
    participants: Mapped[list[TeleconferenceParticipant]] = relationship(
        back_populates="teleconference", cascade="all, delete-orphan"
    )


class TeleconferenceParticipant(Base):
    __tablename__ = "teleconference_participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    teleconference_id: Mapped[int] = mapped_column(
        ForeignKey("teleconferences.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))

    teleconference: Mapped[Teleconference] = relationship(back_populates="participants")


class TaskKind(enum.StrEnum):
    CALLBACK = "callback"
    SAVE_THE_SALE = "save_the_sale"


class TaskStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class Task(Base):
    """Follow-up work for a person: call a customer back, try to save a sale."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status_due", "assignee_id", "status", "due_at"),
        # Reports: refund requests (save-the-sale tasks) opened in a period.
        Index("ix_tasks_kind_created", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TaskKind] = mapped_column(Enum(TaskKind, native_enum=False, length=20))
    status: Mapped[TaskStatus] = mapped_column(
        Enum(TaskStatus, native_enum=False, length=20), default=TaskStatus.OPEN
    )
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id", ondelete="SET NULL"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(Text)
    # save_the_sale: "saved" or "lost"; callback: free text.
    outcome: Mapped[str | None] = mapped_column(String(20))
    outcome_notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    assignee: Mapped[User | None] = relationship()
    customer: Mapped[Customer | None] = relationship()
