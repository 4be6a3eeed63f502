"""Jobs (orders being delivered), their account manager and the history of their ETA."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, utcnow
from .customer import Customer, trigram_index
from .organisation import User

if TYPE_CHECKING:
    from .call import Enquiry


class JobStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


OPEN_JOB_STATUSES = (JobStatus.OPEN, JobStatus.IN_PROGRESS)


class Job(Base):
    __tablename__ = "jobs"
    # The home page cuts open jobs by ETA and recent feedback, for one manager or the team;
    # reports read jobs delivered in a period (ETA reliability).
    __table_args__ = (
        Index("ix_jobs_manager_status", "account_manager_id", "status"),
        Index("ix_jobs_status_eta_date", "status", "eta_date"),
        Index("ix_jobs_status_eta_at", "status", "eta_at"),
        Index("ix_jobs_manager_status_eta_date", "account_manager_id", "status", "eta_date"),
        Index("ix_jobs_manager_status_eta_at", "account_manager_id", "status", "eta_at"),
        Index("ix_jobs_feedback_at", "feedback_at"),
        Index("ix_jobs_delivered_at", "delivered_at"),
        # Open jobs only: each account manager's load, and the days' bookings against
        # capacity, read from the index alone (half a year's jobs may be open).
        Index(
            "ix_jobs_open_manager",
            "account_manager_id",
            postgresql_include=["id"],
            postgresql_where=text("status IN ('OPEN', 'IN_PROGRESS')"),
            sqlite_where=text("status IN ('OPEN', 'IN_PROGRESS')"),
        ),
        Index(
            "ix_jobs_open_eta_date",
            "eta_date",
            postgresql_include=["id"],
            postgresql_where=text("status IN ('OPEN', 'IN_PROGRESS')"),
            sqlite_where=text("status IN ('OPEN', 'IN_PROGRESS')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    account_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    description: Mapped[str | None] = mapped_column(Text)
    # An ETA is a whole day (eta_date) or an instant (eta_at, UTC); exactly one is set.
    eta_date: Mapped[date | None] = mapped_column(Date)
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=20), default=JobStatus.OPEN
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer's one answer to the feedback link in the delivered email.
    feedback_rating: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    account_manager: Mapped[User | None] = relationship()
    eta_changes: Mapped[list[EtaChange]] = relationship(
        back_populates="job", order_by="EtaChange.id", cascade="all, delete-orphan"
    )


trigram_index("ix_jobs_reference_trgm", Job.reference)


class EtaChange(Base):
    __tablename__ = "eta_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    old_eta_date: Mapped[date | None] = mapped_column(Date)
    old_eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    new_eta_date: Mapped[date | None] = mapped_column(Date)
    new_eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str] = mapped_column(String(254))
    # Whether the customer has been told of this change (after the settle window).
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    job: Mapped[Job] = relationship(back_populates="eta_changes")


class FeedbackStage(enum.StrEnum):
    """When the customer was asked: early (introduction email) or at delivery."""

    EARLY = "early"
    DELIVERED = "delivered"


class JobFeedback(Base):
    """A customer's answer to a feedback link: one per job and stage."""

    __tablename__ = "job_feedback"
    __table_args__ = (
        UniqueConstraint("job_id", "stage"),
        Index("ix_job_feedback_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    stage: Mapped[FeedbackStage] = mapped_column(Enum(FeedbackStage, native_enum=False, length=20))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The follow-up a low rating or a comment opened for the account manager.
    enquiry_id: Mapped[int | None] = mapped_column(ForeignKey("enquiries.id", ondelete="SET NULL"))

    job: Mapped[Job] = relationship()
    enquiry: Mapped[Enquiry | None] = relationship()
